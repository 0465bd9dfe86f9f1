"""What geo keeps and deletes at a supervisee's purge, and the PIPL thinning of old raw fixes.

Everything geo holds about a person is operational: the raw fixes, the
violation episodes and fold states built from them, the last-signal row, and
the fences with their versions (monitoring configuration whose geometry is the
home, exact leave destinations and corridors; the decisions behind them stay
in the legal file: the supervisee's permitted area codes, the leave approvals,
the alerts). Fences go last: leave/ clears its references to them first
(api.app.RETENTIONS lists leave before geo).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, text

from core.context import Ctx
from core.retention import Retention
from geo.ingest.models import FenceFold, Fix, SuperviseeSignal, ViolationEpisode
from geo.models import Fence, FenceVersion


def purge_geo(ctx: Ctx, supervisee_id: int) -> dict[str, int]:
    """Delete the person's fixes, episodes, fold states, signal row and fences; counts per table."""
    db = ctx.db
    fences = select(Fence.id).where(Fence.supervisee_id == supervisee_id)
    counts = {
        "fixes": db.execute(delete(Fix).where(Fix.supervisee_id == supervisee_id)).rowcount,
        "violation_episodes": db.execute(delete(ViolationEpisode).where(
            (ViolationEpisode.supervisee_id == supervisee_id) | ViolationEpisode.fence_id.in_(fences))).rowcount,
        "fence_folds": db.execute(delete(FenceFold).where(
            (FenceFold.supervisee_id == supervisee_id) | FenceFold.fence_id.in_(fences))).rowcount,
        "supervisee_signal": db.execute(delete(SuperviseeSignal).where(
            SuperviseeSignal.supervisee_id == supervisee_id)).rowcount,
        "fence_versions": db.execute(delete(FenceVersion).where(FenceVersion.fence_id.in_(fences))).rowcount,
    }
    counts["fences"] = db.execute(delete(Fence).where(Fence.supervisee_id == supervisee_id)).rowcount
    return counts


RETENTION = Retention(
    package="geo",
    operational=("fixes", "violation_episodes", "fence_folds", "supervisee_signal", "fence_versions", "fences"),
    purge=purge_geo,
)

# A fix that is evidence stays whole: an alert's evidence row, a check-in's
# own fix, an episode's evidence or closing fix, or any fix inside an
# episode's span (the track of a violation is what an officer reviews).
_THIN = text("""
    WITH old AS (
        SELECT f.id, f.supervisee_id, f.t,
               row_number() OVER (PARTITION BY f.supervisee_id,
                                  floor(extract(epoch FROM f.t) / (:keep_minutes * 60))
                                  ORDER BY f.t, f.id) AS n
        FROM fixes f
        WHERE f.t < :before
    )
    DELETE FROM fixes WHERE id IN (
        SELECT old.id FROM old
        WHERE old.n > 1
          AND NOT EXISTS (SELECT 1 FROM alert_evidence e WHERE e.fix_id = old.id)
          AND NOT EXISTS (SELECT 1 FROM checkin_submissions s WHERE s.fix_id = old.id)
          AND NOT EXISTS (SELECT 1 FROM violation_episodes v
                          WHERE v.supervisee_id = old.supervisee_id
                            AND (old.id = ANY(v.evidence_fix_ids) OR old.id = ANY(v.closing_fix_ids)
                                 OR (old.t >= v.opened_at AND (v.closed_at IS NULL OR old.t <= v.closed_at))))
    )
""")


def thin_fixes(db, *, before: datetime, keep_minutes: int) -> int:
    """PIPL minimisation: of raw fixes older than ``before``, keep the first per ``keep_minutes`` per person
    and every fix that is evidence; delete the rest. Idempotent (the first of an interval stays first)."""
    return db.execute(_THIN, {"before": before, "keep_minutes": keep_minutes}).rowcount
