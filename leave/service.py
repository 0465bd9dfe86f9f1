"""Leave requests: ask, read, withdraw, extend, cut short, report return (销假).

Decisions (approve / reject) live in leave/approval.py. Services flush and
audit; the route (or job) owns the transaction. Every read of a leave is
audited too: a leave holds where a supervisee will be.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from alerts.facts import LeaveReturned, Subject
from alerts.intake import apply_facts
from core.context import Ctx
from core.errors import Conflict, Forbidden, Invalid, NotFound
from geo.fences.permitted_area import inside_permitted_area
from geo.models import Fence
from leave import names, rules
from leave.fences import end_fence, parse_destination, reschedule_fence, sync_corridor
from leave.models import LeaveRequest, LeaveStatus
from leave.policy import effective_policy, leave_days
from leave.schemas import CutShortIn, ExtendIn, LeaveIn, LeaveOut, ReturnIn, WithdrawIn
from supervision.models import Role, Supervisee
from core.schemas import Page
from supervision.scope import require_role, supervisee_clause
from supervision.supervisees import get_scoped

READERS = {Role.officer, Role.manager, Role.auditor, Role.supervisee}
ACTORS = {Role.officer, Role.manager, Role.supervisee}


def to_out(row: LeaveRequest) -> LeaveOut:
    data = {name: getattr(row, name) for name in LeaveOut.model_fields if name != "destination"}
    return LeaveOut(**data, destination=dict(row.raw or {}))


def scoped_leave(ctx: Ctx, leave_id: int, action: str, *, lock: bool = False) -> LeaveRequest:
    """A leave the caller may see (its supervisee in scope), else 404 -- audited either way by the caller."""
    require_role(ctx.principal, READERS, "see leave requests")
    query = (select(LeaveRequest).join(Supervisee, Supervisee.id == LeaveRequest.supervisee_id)
             .where(LeaveRequest.id == leave_id, supervisee_clause(ctx.principal)))
    row = ctx.db.scalar(query.with_for_update(of=LeaveRequest) if lock else query)
    if row is None:
        ctx.record(action, "leave", leave_id, outcome="not_found")
        raise NotFound()
    return row


def supervisee_for(ctx: Ctx, supervisee_id: int | None) -> Supervisee:
    p = ctx.principal
    require_role(p, ACTORS, "ask for leave")
    if p.role == Role.supervisee:
        if supervisee_id not in (None, p.supervisee_id):
            raise NotFound()  # another person: as if absent
        return get_scoped(ctx, p.supervisee_id)
    if supervisee_id is None:
        raise Invalid("supervisee_id is required when staff enter a request", field="supervisee_id")
    return get_scoped(ctx, supervisee_id)


def _allowance(ctx: Ctx) -> timedelta:
    return timedelta(hours=ctx.settings.leave.leave_travel_allowance_hours)


def fence_window(ctx: Ctx, leave: LeaveRequest):
    """The destination is allowed from departure minus the travel allowance until return plus it."""
    a = _allowance(ctx)
    return leave.depart_at - a, leave.return_due_at + a


def travel_windows(ctx: Ctx, leave: LeaveRequest) -> dict[str, tuple[datetime, datetime]]:
    """The travel corridor's windows by leg: departure ± allowance and return ± allowance.

    Only these: mid-leave the person should be at the destination, and a
    corridor valid all along would hide a detour anywhere near the route.
    Windows that touch (a leave shorter than two allowances) become one.
    """
    a = _allowance(ctx)
    if a <= timedelta(0):
        return {}
    out, back = (leave.depart_at - a, leave.depart_at + a), (leave.return_due_at - a, leave.return_due_at + a)
    if back[0] <= out[1]:
        return {"outbound": (out[0], back[1])}
    return {"outbound": out, "return": back}


def sync_travel_corridor(ctx: Ctx, leave: LeaveRequest, *, ended: bool = False) -> list[int]:
    """Keep the corridor fences on the leave's current travel windows (none once ``ended``); returns live ids."""
    cfg = ctx.settings.leave
    return sync_corridor(ctx.db, leave=leave, windows={} if ended else travel_windows(ctx, leave),
                         buffer_m=cfg.leave_corridor_buffer_km * 1000.0, now=ctx.clock.now(),
                         created_by=ctx.principal.user_id)


def create_leave(*, ctx: Ctx, data: LeaveIn) -> LeaveOut:
    """A supervisee asks (or staff enter on their behalf); routed by duration to office or bureau."""
    sup = supervisee_for(ctx, data.supervisee_id)
    rules.check_supervisee(sup)
    policy = effective_policy(ctx.db, sup.office_id)
    now, cfg = ctx.clock.now(), ctx.settings.leave
    rules.check_times(now=now, depart_at=data.depart_at, return_at=data.return_at, policy=policy,
                      tolerance=timedelta(minutes=cfg.leave_past_tolerance_minutes))
    days = leave_days(data.depart_at, data.return_at)
    rules.check_max(days, policy)
    rules.check_term(sup, data.depart_at, data.return_at)
    rules.check_overlap(ctx.db, sup.id, data.depart_at, data.return_at)
    rules.check_yearly_cap(ctx.db, sup.id, data.depart_at, days, policy)
    dest = parse_destination(ctx.db, data.destination, "destination")
    row = LeaveRequest(
        supervisee_id=sup.id, office_id=sup.office_id, requested_by=ctx.principal.user_id, requested_at=now,
        reason=data.reason, address=dest.address, geom=dest.geom, radius_m=dest.radius_m, datum=dest.datum,
        raw=dest.raw, depart_at=data.depart_at, return_at=data.return_at, return_due_at=data.return_at, days=days,
        total_days=days, required_level=policy.level_for(days).value, status=LeaveStatus.pending)
    names.stamp_request(ctx.db, row, sup)
    ctx.db.add(row)
    ctx.db.flush()
    ctx.record("leave.request", "leave", row.id, detail={
        "supervisee_id": sup.id, "office_id": sup.office_id, "days": days, "required_level": row.required_level})
    return to_out(row)


def get_leave(*, ctx: Ctx, leave_id: int) -> LeaveOut:
    row = scoped_leave(ctx, leave_id, "leave.read")
    ctx.record("leave.read", "leave", row.id, detail={"supervisee_id": row.supervisee_id})
    return to_out(row)


def list_leaves(*, ctx: Ctx, limit: int, offset: int, supervisee_id: int | None = None,
                status: LeaveStatus | None = None) -> Page[LeaveOut]:
    require_role(ctx.principal, READERS, "see leave requests")
    where = [supervisee_clause(ctx.principal)]
    if supervisee_id is not None:
        where.append(LeaveRequest.supervisee_id == supervisee_id)
    if status is not None:
        where.append(LeaveRequest.status == status)
    base = select(LeaveRequest).join(Supervisee, Supervisee.id == LeaveRequest.supervisee_id).where(*where)
    total = ctx.db.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = list(ctx.db.scalars(base.order_by(LeaveRequest.id.desc()).limit(limit).offset(offset)))
    ctx.record("leave.list", "leave", None, detail={"ids": [r.id for r in rows], "offset": offset})
    return Page(items=[to_out(r) for r in rows], total=total, limit=limit, offset=offset)


def _require_actor(ctx: Ctx, what: str) -> None:
    require_role(ctx.principal, ACTORS, what)


def _root(ctx: Ctx, leave: LeaveRequest, done: str) -> LeaveRequest:
    """The original, approved, still running leave ("done": what the caller wants to do to it)."""
    if leave.parent_id is not None:
        raise Conflict(f"#{leave.id} is an extension: act on the original leave #{leave.parent_id}")
    if leave.status != LeaveStatus.approved or leave.returned_at is not None:
        raise Conflict(f"only an approved leave not yet reported back can be {done}")
    return leave


def _lapse_pending_extensions(ctx: Ctx, leave: LeaveRequest) -> None:
    for ext in ctx.db.scalars(select(LeaveRequest).where(LeaveRequest.parent_id == leave.id,
                                                         LeaveRequest.status == LeaveStatus.pending)):
        ext.status, ext.withdrawn_at = LeaveStatus.withdrawn, ctx.clock.now()
        ctx.record("leave.withdraw", "leave", ext.id, detail={"lapsed_with": leave.id})


def move_fence(ctx: Ctx, leave: LeaveRequest) -> None:
    """Keep the destination and corridor fences on the leave's current window (after any change of return time)."""
    fence = ctx.db.get(Fence, leave.fence_id) if leave.fence_id else None
    if fence is None:
        return
    sync_travel_corridor(ctx, leave)
    start, end = fence_window(ctx, leave)
    moved = reschedule_fence(ctx.db, fence, valid_from=start, valid_to=end, now=ctx.clock.now(),
                             created_by=ctx.principal.user_id)
    leave.fence_id = moved.id if moved is not None else leave.fence_id


def extend_leave(*, ctx: Ctx, leave_id: int, data: ExtendIn) -> LeaveOut:
    """Ask for more time: a new request for [current return, new return), routed by the total duration."""
    _require_actor(ctx, "extend leave")
    parent = _root(ctx, scoped_leave(ctx, leave_id, "leave.extend", lock=True), "extended")
    now = ctx.clock.now()
    if now >= parent.return_due_at:
        raise Conflict("the return time has passed: an extension must be asked before it")
    if data.return_at <= parent.return_due_at:
        raise Invalid(f"return_at must be after the current return time ({parent.return_due_at.isoformat()})",
                      field="return_at")
    sup = ctx.db.get(Supervisee, parent.supervisee_id)
    rules.check_supervisee(sup)
    policy = effective_policy(ctx.db, sup.office_id)
    total = leave_days(parent.depart_at, data.return_at)
    days = leave_days(parent.return_due_at, data.return_at)
    rules.check_max(total, policy, extension=True)
    rules.check_term(sup, parent.depart_at, data.return_at)
    rules.check_overlap(ctx.db, sup.id, parent.return_due_at, data.return_at, exclude=[parent.id])
    rules.check_yearly_cap(ctx.db, sup.id, parent.depart_at, days, policy)
    row = LeaveRequest(
        supervisee_id=sup.id, office_id=parent.office_id, parent_id=parent.id, requested_by=ctx.principal.user_id,
        requested_at=now, reason=data.reason, address=parent.address, geom=parent.geom, radius_m=parent.radius_m,
        datum=parent.datum, raw=dict(parent.raw or {}), depart_at=parent.return_due_at, return_at=data.return_at,
        return_due_at=data.return_at, days=days, total_days=total, required_level=policy.level_for(total).value,
        status=LeaveStatus.pending)
    names.stamp_request(ctx.db, row, sup)
    ctx.db.add(row)
    ctx.db.flush()
    ctx.record("leave.request", "leave", row.id, detail={
        "supervisee_id": sup.id, "office_id": row.office_id, "days": days, "total_days": total,
        "required_level": row.required_level, "extension_of": parent.id})
    return to_out(row)


def cut_short(*, ctx: Ctx, leave_id: int, data: CutShortIn) -> LeaveOut:
    """Come back sooner: a new, earlier return time (no approval needed to shorten)."""
    _require_actor(ctx, "change leave")
    leave = _root(ctx, scoped_leave(ctx, leave_id, "leave.cut_short", lock=True), "cut short")
    now = ctx.clock.now()
    tolerance = timedelta(minutes=ctx.settings.leave.leave_past_tolerance_minutes)
    if data.return_at >= leave.return_due_at:
        raise Invalid(f"return_at must be before the current return time ({leave.return_due_at.isoformat()}); "
                      "use an extension for more time", field="return_at")
    if data.return_at <= leave.depart_at:
        raise Invalid("return_at must be after depart_at; withdraw the leave instead", field="return_at")
    if data.return_at < now - tolerance:
        raise Invalid("return_at is in the past", field="return_at")
    before = leave.return_due_at
    leave.return_due_at, leave.cut_short_at = data.return_at, now
    _lapse_pending_extensions(ctx, leave)
    move_fence(ctx, leave)
    ctx.db.flush()
    ctx.record("leave.cut_short", "leave", leave.id, detail={
        "supervisee_id": leave.supervisee_id, "from": before.isoformat(), "to": data.return_at.isoformat(),
        "reason": data.reason})
    return to_out(leave)


def withdraw_leave(*, ctx: Ctx, leave_id: int, data: WithdrawIn) -> LeaveOut:
    """The supervisee, or the officer who entered it, takes a request back before departure."""
    _require_actor(ctx, "withdraw leave")
    leave = scoped_leave(ctx, leave_id, "leave.withdraw", lock=True)
    p = ctx.principal
    if not (p.role == Role.supervisee or leave.requested_by == p.user_id):
        raise Forbidden("only the supervisee or the staff member who entered the request may withdraw it")
    if leave.status not in rules.LIVE:
        raise Conflict(f"the request is {leave.status}; nothing to withdraw")
    now = ctx.clock.now()
    if now >= leave.depart_at:
        raise Conflict("the leave has started: it can no longer be withdrawn; cut it short or report return")
    was = leave.status
    leave.status, leave.withdrawn_at = LeaveStatus.withdrawn, now
    if was == LeaveStatus.approved and leave.parent_id is not None:
        parent = ctx.db.get(LeaveRequest, leave.parent_id, with_for_update=True)
        parent.return_due_at = leave.depart_at  # the approved extension no longer applies
        move_fence(ctx, parent)
    elif was == LeaveStatus.approved:
        _lapse_pending_extensions(ctx, leave)
        fence = ctx.db.get(Fence, leave.fence_id) if leave.fence_id else None
        if fence is not None:
            end_fence(ctx.db, fence, now=now)
        sync_travel_corridor(ctx, leave, ended=True)
    ctx.db.flush()
    ctx.record("leave.withdraw", "leave", leave.id, detail={
        "supervisee_id": leave.supervisee_id, "was": was, "reason": data.reason})
    return to_out(leave)


def report_return(*, ctx: Ctx, leave_id: int, data: ReturnIn) -> LeaveOut:
    """销假: a check-in inside the permitted area ends the leave (and its destination fence)."""
    require_role(ctx.principal, {Role.supervisee, Role.officer}, "report return from leave")
    leave = _root(ctx, scoped_leave(ctx, leave_id, "leave.return", lock=True), "reported back")
    now = ctx.clock.now()
    if now < leave.depart_at:
        raise Conflict("the leave has not started: withdraw or cut it short instead")
    sup = ctx.db.get(Supervisee, leave.supervisee_id)
    inside = inside_permitted_area(ctx.db, sup.id, list(sup.permitted_area_codes or []), lon=data.lon, lat=data.lat,
                                   datum=data.datum, accuracy_m=data.accuracy_m, now=now)
    if inside is None:
        raise Conflict("no permitted area is set for this supervisee; ask the office to set one")
    if not inside:
        raise Invalid("the check-in position is not inside the permitted area (allowing for its accuracy): "
                      "report return once back", field="lat")
    leave.returned_at = now
    leave.return_position = data.model_dump()
    _lapse_pending_extensions(ctx, leave)
    fence = ctx.db.get(Fence, leave.fence_id) if leave.fence_id else None
    if fence is not None:
        end_fence(ctx.db, fence, now=now)
    sync_travel_corridor(ctx, leave, ended=True)  # back home: the return leg is no longer needed
    if leave.overdue_alert_id:
        sup = ctx.db.get(Supervisee, leave.supervisee_id)
        apply_facts(ctx.db, Subject(sup.id, sup.office_id, sup.tier),
                    [LeaveReturned(leave_id=leave.id, alert_id=leave.overdue_alert_id, t=now)], now=now,
                    cfg=ctx.settings.alerts)
    ctx.db.flush()
    ctx.record("leave.return", "leave", leave.id, detail={
        "supervisee_id": leave.supervisee_id, "late": now > leave.return_due_at, "position": data.model_dump()})
    return to_out(leave)
