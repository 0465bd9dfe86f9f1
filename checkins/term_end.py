"""The check-ins' step at the end of a supervision (composed in api.app.TERM_END_STEPS).

The scheduler ends plans of a supervision that is no longer active at its
next round, but a window already open (or a spot check, which has no plan)
would then be judged missed and raise an alert about someone no longer
supervised. So at the end, the current plan ends at ``at`` and every window
not yet judged is cancelled; what was judged before stays in the ledger.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from checkins.models import CheckinOccurrence, CheckinPlan, OccurrenceState
from core.context import Ctx


def end_checkins(ctx: Ctx, *, supervisee_id: int, at: datetime) -> dict[str, int]:
    """End the person's plan and cancel their unjudged windows; counts."""
    now = ctx.clock.now()
    plans = ctx.db.execute(update(CheckinPlan).where(CheckinPlan.supervisee_id == supervisee_id,
                                                     CheckinPlan.valid_to.is_(None)).values(valid_to=at)).rowcount
    cancelled = ctx.db.execute(update(CheckinOccurrence).where(
        CheckinOccurrence.supervisee_id == supervisee_id,
        CheckinOccurrence.state.in_([OccurrenceState.scheduled, OccurrenceState.due]))
        .values(state=OccurrenceState.cancelled, judged_at=now)).rowcount
    return {"checkin_plans_ended": plans, "checkin_windows_cancelled": cancelled}
