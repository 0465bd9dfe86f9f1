"""What leave keeps and clears at a supervisee's purge.

Leave requests and standing permits are the legal file (who asked, where to
in words, when, who decided and why), but the exact destination geometry, its
raw input, the position reported on return and the link to the (deleted)
destination fence are cleared; a permit's occurrence fences are deleted.
Runs before geo's purge, which deletes the fences these rows point at.
"""
from __future__ import annotations

from sqlalchemy import delete, null, select, update

from core.context import Ctx
from core.retention import Retention
from leave.models import LeaveRequest, PermitOccurrence, StandingPermit


def purge_leave(ctx: Ctx, supervisee_id: int) -> dict[str, int]:
    """Clear exact points of the person's leave and permits; delete permit occurrences."""
    db = ctx.db
    permits = select(StandingPermit.id).where(StandingPermit.supervisee_id == supervisee_id)
    return {
        "standing_permit_occurrences": db.execute(delete(PermitOccurrence).where(
            PermitOccurrence.permit_id.in_(permits))).rowcount,
        "leave_requests.geom": db.execute(update(LeaveRequest).where(LeaveRequest.supervisee_id == supervisee_id)
                                          .values(geom=None, raw={}, return_position=null(), fence_id=None)).rowcount,
        "standing_permits.geom": db.execute(update(StandingPermit).where(
            StandingPermit.supervisee_id == supervisee_id).values(geom=None, raw={})).rowcount,
    }


RETENTION = Retention(
    package="leave",
    operational=("standing_permit_occurrences",),
    scrubbed={"leave_requests": ("geom", "raw", "return_position", "fence_id"),
              "standing_permits": ("geom", "raw")},
    purge=purge_leave,
)
