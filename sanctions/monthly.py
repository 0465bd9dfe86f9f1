"""Month end: last month's assessment for every supervisee (once), shortfall alerts; an officer confirms.

A supervisee whose term had not begun by the month's end has no assessment
for it. The job is safe to run often and in two processes: the unique
(supervisee, month) lets one insert win, and the alerts are raised only by
the winner (in the same transaction).
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from alerts.facts import ObligationShortfall, Subject
from alerts.intake import apply_facts
from core.context import Ctx
from core.errors import Conflict, NotFound
from core.jobs import JobContext
from core.schemas import Page
from sanctions.assessment import load_record, month_bounds, previous_month, score_month, shortfalls
from sanctions.models import MonthlyAssessment
from supervision.models import Role, Supervisee
from supervision.scope import office_scope, require_role
from supervision.supervisees import get_scoped as scoped_supervisee


def assessment_out(a: MonthlyAssessment) -> dict:
    return {"id": a.id, "supervisee_id": a.supervisee_id, "office_id": a.office_id, "month": a.month.isoformat()[:7],
            "tier": a.tier, "score": a.score, "grade": a.grade, "breakdown": a.breakdown,
            "computed_at": a.computed_at, "confirmed": a.confirmed_at is not None, "confirmed_by": a.confirmed_by,
            "confirmed_at": a.confirmed_at, "confirm_reason": a.confirm_reason}


def run_month_end(job: JobContext) -> int:
    """Assess last month for everyone not yet assessed; the number of new assessments."""
    month = previous_month(job.now)
    _, end = month_bounds(month)
    cfg = job.settings.sanctions
    people = list(job.db.scalars(select(Supervisee).where(
        Supervisee.status == "active", Supervisee.term_start < end.date(),
        ~select(MonthlyAssessment.id).where(MonthlyAssessment.supervisee_id == Supervisee.id,
                                            MonthlyAssessment.month == month).exists())))
    made, ledger_starts = 0, {}
    for sup in people:
        record = load_record(job.db, sup, month, ledger_starts=ledger_starts)
        score, grade, breakdown = score_month(record, cfg)
        new_id = job.db.scalar(insert(MonthlyAssessment).values(
            supervisee_id=sup.id, office_id=sup.office_id, month=month, tier=record.tier, score=score, grade=grade,
            breakdown=breakdown, computed_at=job.now,
        ).on_conflict_do_nothing(constraint="monthly_assessments_once").returning(MonthlyAssessment.id))
        if new_id is None:
            continue
        made += 1
        facts = [ObligationShortfall(month=month.isoformat()[:7], kind=k, required_hours=n, entered_hours=g,
                                     month_end=end) for k, (n, g) in shortfalls(record, cfg).items()]
        if facts:
            apply_facts(job.db, Subject(sup.id, sup.office_id, sup.tier), facts, now=job.now, cfg=job.settings.alerts)
        job.record("assessment.compute", "assessment", new_id, detail={
            "supervisee_id": sup.id, "month": month.isoformat()[:7], "score": score, "grade": grade,
            "shortfalls": [f.kind for f in facts]})
    return made


def confirm_assessment(*, ctx: Ctx, assessment_id: int, reason: str) -> dict:
    """Recompute from the record as it stands now (late hours count), then fix it with the officer's name."""
    require_role(ctx.principal, {Role.officer, Role.manager}, "confirm assessments")
    row = ctx.db.scalar(select(MonthlyAssessment).where(
        MonthlyAssessment.id == assessment_id, office_scope(ctx.principal, MonthlyAssessment.office_id))
        .with_for_update())
    if row is None:
        ctx.record("assessment.confirm", "assessment", assessment_id, outcome="not_found")
        raise NotFound()
    if row.confirmed_at is not None:
        raise Conflict("this assessment is already confirmed")
    sup = ctx.db.get(Supervisee, row.supervisee_id)
    record = load_record(ctx.db, sup, row.month)
    record.tier = row.tier  # the month is judged by the tier it ended in
    row.score, row.grade, row.breakdown = score_month(record, ctx.settings.sanctions)
    row.confirmed_by, row.confirmed_at, row.confirm_reason = ctx.principal.user_id, ctx.clock.now(), reason
    ctx.db.flush()
    ctx.record("assessment.confirm", "assessment", row.id, detail={
        "supervisee_id": row.supervisee_id, "month": row.month.isoformat()[:7], "score": row.score,
        "grade": row.grade, "reason": reason})
    return assessment_out(row)


def list_assessments(*, ctx: Ctx, supervisee_id: int, limit: int, offset: int) -> Page[dict]:
    """A supervisee's monthly assessments (newest first); the supervisee reads their own confirmed ones."""
    require_role(ctx.principal, {Role.officer, Role.manager, Role.auditor, Role.supervisee}, "read assessments")
    scoped_supervisee(ctx, supervisee_id)
    where: tuple = (MonthlyAssessment.supervisee_id == supervisee_id,)
    if ctx.principal.role == Role.supervisee:
        where += (MonthlyAssessment.confirmed_at.is_not(None),)
    total = ctx.db.scalar(select(func.count()).select_from(MonthlyAssessment).where(*where)) or 0
    rows = ctx.db.scalars(select(MonthlyAssessment).where(*where).order_by(MonthlyAssessment.month.desc())
                          .limit(limit).offset(offset))
    items = [assessment_out(a) for a in rows]
    ctx.record("assessment.read", "supervisee", supervisee_id, detail={"rows": len(items)})
    return Page(items=items, total=total, limit=limit, offset=offset)
