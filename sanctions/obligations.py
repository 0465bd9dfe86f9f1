"""The obligations ledger: hours of study (教育学习) and public service (公益活动) officers enter per month.

A month's hours can be entered until its assessment is confirmed (then the
month is closed: 409), never for a month that has not begun.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core.context import Ctx
from core.errors import Conflict, Invalid
from core.localtime import LOCAL_TZ
from sanctions.assessment import required_hours
from sanctions.models import MonthlyAssessment, ObligationEntry, ObligationKind
from supervision.models import Role
from supervision.scope import require_role
from supervision.supervisees import get_scoped as scoped_supervisee


def parse_month(text: str) -> date:
    try:
        year, month = (int(p) for p in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise Invalid("month must be YYYY-MM", field="month") from None


def entry_out(e: ObligationEntry) -> dict:
    return {"id": e.id, "supervisee_id": e.supervisee_id, "month": e.month.isoformat()[:7], "kind": e.kind,
            "hours": e.hours, "note": e.note, "entered_by": e.entered_by, "entered_at": e.entered_at}


def enter_hours(*, ctx: Ctx, supervisee_id: int, month: str, kind: ObligationKind, hours: float,
                note: str | None) -> dict:
    require_role(ctx.principal, {Role.officer, Role.manager}, "enter obligation hours")
    sup = scoped_supervisee(ctx, supervisee_id)
    first = parse_month(month)
    now = ctx.clock.now().astimezone(LOCAL_TZ).date()
    if first > now:
        raise Invalid("that month has not begun", field="month")
    if ctx.db.scalar(select(MonthlyAssessment.id).where(
            MonthlyAssessment.supervisee_id == sup.id, MonthlyAssessment.month == first,
            MonthlyAssessment.confirmed_at.is_not(None))) is not None:
        raise Conflict(f"the assessment of {month} is confirmed: the month is closed")
    row = ObligationEntry(supervisee_id=sup.id, office_id=sup.office_id, month=first, kind=kind, hours=hours,
                          note=note, entered_by=ctx.principal.user_id, entered_at=ctx.clock.now())
    ctx.db.add(row)
    ctx.db.flush()
    ctx.record("obligation.enter", "obligation", row.id, detail={
        "supervisee_id": sup.id, "month": month, "kind": kind, "hours": hours})
    return entry_out(row)


def month_hours(*, ctx: Ctx, supervisee_id: int, month: str) -> dict:
    """The month's entries, totals and what the supervisee's tier requires."""
    require_role(ctx.principal, {Role.officer, Role.manager, Role.auditor}, "read obligation hours")
    sup = scoped_supervisee(ctx, supervisee_id)
    first = parse_month(month)
    rows = list(ctx.db.scalars(select(ObligationEntry).where(
        ObligationEntry.supervisee_id == sup.id, ObligationEntry.month == first).order_by(ObligationEntry.id)))
    totals = {str(k): sum(r.hours for r in rows if r.kind == k) for k in ObligationKind}
    ctx.record("obligation.read", "supervisee", sup.id, detail={"month": month})
    return {"supervisee_id": sup.id, "month": month, "entries": [entry_out(r) for r in rows], "totals": totals,
            "required": {str(k): required_hours(ctx.settings.sanctions, sup.tier, k) for k in ObligationKind}}
