"""Standing permits (Law art. 27, simplified approval for regular travel).

A permit allows being in one area on set weekdays and local hours, between
two dates. The engine knows only fences valid in one window, and geo/engine
is not ours to change, so each occurrence window becomes its own
``leave_destination`` fence, created ahead of time for the next
``leave_permit_horizon_days`` (at approval, then by the scheduled job). The
``standing_permit_occurrences`` primary key makes that idempotent. Ending a
permit (withdrawal, revocation) retires the fences of its open occurrences.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.context import Ctx
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.localtime import LOCAL_TZ
from geo.models import Fence
from leave.fences import end_fence, open_fence, parse_destination
from leave.models import LeaveStatus, PermitOccurrence, StandingPermit
from leave.policy import effective_policy
from supervision.authority import require_authority
from leave.rules import check_supervisee
from leave.schemas import PermitIn, PermitOut
from leave.service import ACTORS, READERS, supervisee_for
from supervision.models import Role, Supervisee
from supervision.scope import require_role, supervisee_clause


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Aug + 6 → 28/29 Feb)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def to_out(row: StandingPermit) -> PermitOut:
    data = {name: getattr(row, name) for name in PermitOut.model_fields if name != "area"}
    return PermitOut(**data, area=dict(row.raw or {}))


def occurrences(permit: StandingPermit, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Occurrence windows (UTC) of the permit that overlap [start, end), clipped to its dates."""
    first = max(permit.valid_from, (start.astimezone(LOCAL_TZ) - timedelta(days=1)).date())
    last = min(permit.valid_until, end.astimezone(LOCAL_TZ).date())
    limit_lo = datetime.combine(permit.valid_from, time(0), LOCAL_TZ)
    limit_hi = datetime.combine(permit.valid_until + timedelta(days=1), time(0), LOCAL_TZ)
    s, e = time.fromisoformat(permit.start_time), time.fromisoformat(permit.end_time)
    out = []
    day = first
    while day <= last:
        if day.weekday() in permit.weekdays:
            a = datetime.combine(day, s, LOCAL_TZ)
            b = datetime.combine(day + timedelta(days=1 if e <= s else 0), e, LOCAL_TZ)
            a, b = max(a, limit_lo), min(b, limit_hi)
            if a < b and b > start and a < end:
                out.append((a.astimezone(start.tzinfo), b.astimezone(start.tzinfo)))
        day += timedelta(days=1)
    return out


def schedule_occurrences(db: Session, permit: StandingPermit, *, now: datetime, horizon_days: int,
                         created_by: int | None) -> int:
    """Create the fences of occurrences that end after ``now`` and start within the horizon."""
    if permit.status != LeaveStatus.approved or permit.ended_at is not None:
        return 0
    made = 0
    for a, b in occurrences(permit, now, now + timedelta(days=horizon_days)):
        key = {"permit_id": permit.id, "starts_at": a}
        if db.get(PermitOccurrence, (permit.id, a)) is not None:
            continue
        fence = open_fence(db, supervisee_id=permit.supervisee_id, dest=permit, label=f"常驻外出许可 {permit.address}",
                           source={"permit_id": permit.id, "occurrence": a.isoformat()},
                           valid_from=max(a, now), valid_to=b, created_by=created_by)
        # ON CONFLICT: a concurrent run made it first; ours is then retired at once.
        done = db.execute(insert(PermitOccurrence).values(**key, ends_at=b, fence_id=fence.id)
                          .on_conflict_do_nothing().returning(PermitOccurrence.fence_id)).first()
        if done is None:
            end_fence(db, fence, now=now)
            continue
        made += 1
    db.flush()
    return made


def _scoped(ctx: Ctx, permit_id: int, action: str) -> StandingPermit:
    require_role(ctx.principal, READERS, "see standing permits")
    row = ctx.db.scalar(select(StandingPermit).join(Supervisee, Supervisee.id == StandingPermit.supervisee_id)
                        .where(StandingPermit.id == permit_id, supervisee_clause(ctx.principal))
                        .with_for_update(of=StandingPermit))
    if row is None:
        ctx.record(action, "permit", permit_id, outcome="not_found")
        raise NotFound()
    return row


def create_permit(*, ctx: Ctx, data: PermitIn) -> PermitOut:
    """Ask for a standing permit (valid at most the policy's months, within the term)."""
    sup = supervisee_for(ctx, data.supervisee_id)
    check_supervisee(sup)
    policy = effective_policy(ctx.db, sup.office_id)
    today = ctx.clock.now().astimezone(LOCAL_TZ).date()
    if data.valid_from < today:
        raise Invalid("valid_from is in the past", field="valid_from")
    if data.valid_until < data.valid_from:
        raise Invalid("valid_until must not be before valid_from", field="valid_until")
    if data.valid_until >= add_months(data.valid_from, policy.permit_max_months):
        raise Invalid(f"a standing permit is valid at most {policy.permit_max_months} months", field="valid_until")
    if data.valid_from < sup.term_start or data.valid_until > sup.term_end:
        raise Invalid(f"the permit must lie within the supervision term ({sup.term_start}..{sup.term_end})",
                      field="valid_until")
    area = parse_destination(ctx.db, data.area, "area")
    row = StandingPermit(
        supervisee_id=sup.id, office_id=sup.office_id, requested_by=ctx.principal.user_id,
        requested_at=ctx.clock.now(), reason=data.reason, address=area.address, geom=area.geom,
        radius_m=area.radius_m, datum=area.datum, raw=area.raw, weekdays=data.weekdays, start_time=data.start_time,
        end_time=data.end_time, valid_from=data.valid_from, valid_until=data.valid_until,
        required_level=policy.permit_level, status=LeaveStatus.pending)
    ctx.db.add(row)
    ctx.db.flush()
    ctx.record("permit.request", "permit", row.id, detail={"supervisee_id": sup.id, "office_id": sup.office_id,
                                                           "required_level": row.required_level})
    return to_out(row)


def decide_permit(*, ctx: Ctx, permit_id: int, approve: bool, reason: str) -> PermitOut:
    """Approve (occurrence fences are made at once) or reject, like a leave."""
    require_role(ctx.principal, {Role.officer, Role.manager}, "decide standing permits")
    action = "permit.approve" if approve else "permit.reject"
    row = _scoped(ctx, permit_id, action)
    if row.status != LeaveStatus.pending:
        raise Conflict(f"the permit is already {row.status}")
    if row.requested_by == ctx.principal.user_id:
        raise Forbidden("you entered this request yourself: someone else must decide it")
    held = require_authority(ctx.db, ctx.principal, row.office_id, row.required_level, "a standing permit")
    now = ctx.clock.now()
    row.status = LeaveStatus.approved if approve else LeaveStatus.rejected
    row.decided_by, row.decided_at, row.decision_reason = ctx.principal.user_id, now, reason
    made = 0
    if approve:
        made = schedule_occurrences(ctx.db, row, now=now, created_by=ctx.principal.user_id,
                                    horizon_days=ctx.settings.leave.leave_permit_horizon_days)
    ctx.db.flush()
    ctx.record(action, "permit", row.id, detail={"supervisee_id": row.supervisee_id, "level": held.value,
                                                 "reason": reason, "occurrences": made})
    return to_out(row)


def end_permit(*, ctx: Ctx, permit_id: int, reason: str | None) -> PermitOut:
    """Withdraw (supervisee / requester) or revoke (staff with authority): open occurrences end now."""
    require_role(ctx.principal, ACTORS, "end standing permits")
    row = _scoped(ctx, permit_id, "permit.end")
    if row.status not in (LeaveStatus.pending, LeaveStatus.approved) or row.ended_at is not None:
        raise Conflict(f"the permit is already {row.status if row.ended_at is None else 'ended'}")
    p = ctx.principal
    if p.role != Role.supervisee and row.requested_by != p.user_id:
        require_authority(ctx.db, p, row.office_id, row.required_level, "revoking a standing permit")
    now = ctx.clock.now()
    was = row.status
    row.ended_at = now
    if was == LeaveStatus.pending:
        row.status = LeaveStatus.withdrawn
    fences = ctx.db.scalars(select(Fence).join(PermitOccurrence, PermitOccurrence.fence_id == Fence.id)
                            .where(PermitOccurrence.permit_id == row.id, PermitOccurrence.ends_at > now))
    for fence in fences:
        end_fence(ctx.db, fence, now=now)
    ctx.db.flush()
    ctx.record("permit.end", "permit", row.id, detail={"supervisee_id": row.supervisee_id, "was": was,
                                                       "reason": reason})
    return to_out(row)


def get_permit(*, ctx: Ctx, permit_id: int) -> PermitOut:
    row = _scoped(ctx, permit_id, "permit.read")
    ctx.record("permit.read", "permit", row.id, detail={"supervisee_id": row.supervisee_id})
    return to_out(row)

