"""The officers' review queue (ledger entries without a decision), decisions, and compliance by month.

A decision is a person's, with a reason, audited: "confirmed" (the miss or
failure stands; what the sanctions issue may act on) or "overturned" (e.g.
the face score was wrong, the outage was real). Nothing here sanctions.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from checkins.models import (
    CheckinLedgerEntry, CheckinOccurrence, CheckinSubmission, Decision, LedgerKind, OccurrenceState,
)
from core.context import Ctx
from core.errors import Conflict, Invalid, NotFound
from core.localtime import LOCAL_TZ_NAME
from core.schemas import Page
from supervision.models import Role
from supervision.scope import office_scope, require_role

STAFF = {Role.officer, Role.manager, Role.auditor}
# Months a compliance report may span: check-ins did not exist before, and the
# upper bound keeps "the first day of the month after month_to" a real date.
FIRST_MONTH, LAST_MONTH = date(2000, 1, 1), date(2999, 12, 31)


def entry_out(e: CheckinLedgerEntry) -> dict:
    return {"id": e.id, "occurrence_id": e.occurrence_id, "submission_id": e.submission_id,
            "supervisee_id": e.supervisee_id, "office_id": e.office_id, "kind": e.kind, "outcome": e.outcome,
            "consecutive": e.consecutive, "alert_id": e.alert_id, "created_at": e.created_at,
            "decision": e.decision, "decision_reason": e.decision_reason, "decided_by": e.decided_by,
            "decided_at": e.decided_at}


def list_ledger(*, ctx: Ctx, pending: bool, supervisee_id: int | None, limit: int, offset: int) -> Page[dict]:
    """The ledger in scope; ``pending``: the review queue (oldest first)."""
    require_role(ctx.principal, STAFF, "read the check-in ledger")
    where = [office_scope(ctx.principal, CheckinLedgerEntry.office_id)]
    if pending:
        where.append(CheckinLedgerEntry.decision.is_(None))
    if supervisee_id is not None:
        where.append(CheckinLedgerEntry.supervisee_id == supervisee_id)
    total = ctx.db.scalar(select(func.count()).select_from(CheckinLedgerEntry).where(*where)) or 0
    order = CheckinLedgerEntry.created_at if pending else CheckinLedgerEntry.created_at.desc()
    rows = ctx.db.scalars(select(CheckinLedgerEntry).where(*where).order_by(order, CheckinLedgerEntry.id)
                          .limit(limit).offset(offset))
    items = [entry_out(e) for e in rows]
    ctx.record("checkin.ledger.read", detail={"pending": pending, "supervisee_id": supervisee_id,
                                              "entries": len(items)})
    return Page(items=items, total=total, limit=limit, offset=offset)


def decide(*, ctx: Ctx, entry_id: int, decision: Decision, reason: str) -> dict:
    require_role(ctx.principal, {Role.officer, Role.manager}, "decide check-in reviews")
    entry = ctx.db.scalar(select(CheckinLedgerEntry).where(
        CheckinLedgerEntry.id == entry_id, office_scope(ctx.principal, CheckinLedgerEntry.office_id))
        .with_for_update())
    if entry is None:
        ctx.record("checkin.decide", "checkin_ledger", entry_id, outcome="not_found")
        raise NotFound()
    if entry.decision is not None:
        raise Conflict(f"already decided ({entry.decision})")
    entry.decision, entry.decision_reason = decision, reason
    entry.decided_by, entry.decided_at = ctx.principal.user_id, ctx.clock.now()
    ctx.db.flush()
    ctx.record("checkin.decide", "checkin_ledger", entry.id, detail={
        "supervisee_id": entry.supervisee_id, "occurrence_id": entry.occurrence_id, "kind": entry.kind,
        "outcome": entry.outcome, "decision": decision, "reason": reason})
    return entry_out(entry)


def compliance(*, ctx: Ctx, month_from: date, month_to: date) -> list[dict]:
    """Per office and local month: on time / in review / missed / missed (outage) / failed (confirmed)."""
    require_role(ctx.principal, {Role.manager, Role.auditor}, "read compliance reports")
    for name, value in (("month_from", month_from), ("month_to", month_to)):
        if not FIRST_MONTH <= value <= LAST_MONTH:
            raise Invalid(f"{name} must be between {FIRST_MONTH:%Y-%m} and {LAST_MONTH:%Y-%m}", field=name)
    if month_from.replace(day=1) > month_to:
        raise Invalid("month_from is after month_to", field="month_from")
    o, s, l = CheckinOccurrence, CheckinSubmission, CheckinLedgerEntry
    local = func.timezone(LOCAL_TZ_NAME, o.closes_at)
    month = func.to_char(local, "YYYY-MM").label("month")
    hi = date(month_to.year + month_to.month // 12, month_to.month % 12 + 1, 1)
    count = lambda cond, name: func.count().filter(cond).label(name)  # noqa: E731
    rows = ctx.db.execute(
        select(o.office_id, month,
               count((o.state == OccurrenceState.submitted) & (s.outcome == "passed"), "on_time"),
               count((o.state == OccurrenceState.submitted) & (s.outcome == "review"), "in_review"),
               count(o.state == OccurrenceState.missed, "missed"),
               count(o.state == OccurrenceState.missed_outage, "missed_outage"),
               count(l.decision == Decision.confirmed, "failed"))
        .outerjoin(s, s.occurrence_id == o.id)
        .outerjoin(l, (l.occurrence_id == o.id) & (l.kind == LedgerKind.failed))
        .where(o.state.in_([OccurrenceState.submitted, OccurrenceState.missed, OccurrenceState.missed_outage]),
               local >= month_from.replace(day=1), local < hi, office_scope(ctx.principal, o.office_id))
        .group_by(o.office_id, month).order_by(month, o.office_id)).mappings().all()
    ctx.record("checkin.compliance.read", detail={"from": str(month_from), "to": str(month_to)})
    return [dict(r) for r in rows]
