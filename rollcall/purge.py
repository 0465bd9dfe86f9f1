"""End of term: a supervisee's roll-calls and their frames are operational data (core.retention).

The frames are camera pictures of the person (PIPL: sensitive, kept no longer
than needed) and the roll-call rows hold face distances and where they were
asked to stand: both go at the purge. The audit trail keeps that roll-calls
happened and what officers decided (rollcall.decide rows), never the frames.
Only this package's files are deleted here: the person's other media (check-in
selfies, alert snapshots) belong to their own packages' purges.
"""
from __future__ import annotations

from sqlalchemy import delete, func, select, update

from core.context import Ctx
from core.media import files
from core.media.models import Media
from core.retention import Retention
from rollcall.models import Rollcall, RollcallFrame


def purge_rollcalls(ctx: Ctx, supervisee_id: int) -> dict[str, int]:
    """Delete the person's roll-call frames (rows and files) and roll-calls; counts only."""
    media_ids = list(ctx.db.scalars(delete(RollcallFrame).where(RollcallFrame.supervisee_id == supervisee_id)
                                    .returning(RollcallFrame.media_id)))
    rollcalls = ctx.db.execute(delete(Rollcall).where(Rollcall.supervisee_id == supervisee_id)).rowcount
    purged = _purge_files(ctx, media_ids)
    ctx.record("rollcall.purge", "supervisee", supervisee_id,
               detail={"rollcalls": rollcalls, "frames": len(media_ids), "media": purged})
    return {"rollcalls": rollcalls, "rollcall_frames": len(media_ids), "media": purged}


def _purge_files(ctx: Ctx, media_ids: list[int]) -> int:
    """Mark the frames' media rows purged and delete their files at once (as core.media.purge does)."""
    if not media_ids:
        return 0
    rows = ctx.db.execute(select(Media.id, Media.file_name).where(Media.id.in_(media_ids), Media.purged_at.is_(None))
                          .with_for_update()).all()
    ctx.db.execute(update(Media).where(Media.id.in_([r.id for r in rows])).values(purged_at=func.now()))
    for row in rows:
        files.remove(ctx.settings.media.media_dir, row.file_name)
    return len(rows)


RETENTION = Retention(package="rollcall", operational=("rollcalls", "rollcall_frames"), purge=purge_rollcalls)
