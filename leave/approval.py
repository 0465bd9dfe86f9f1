"""Deciding leave: approve or reject, by someone with the authority, never the requester.

Order of refusals (each audited by the route): role (403) → scope (404, as
if absent) → state (409) → the requester themself (403) → authority level
(403). The level needed is the stricter of the one recorded at request time
and the one today's policy gives, so a policy change cannot be raced.
"""
from __future__ import annotations

from core.context import Ctx
from core.errors import Conflict, Forbidden
from geo.models import Fence
from leave import names, rules
from leave.fences import open_fence, reschedule_fence
from leave.models import LeaveRequest, LeaveStatus
from leave.policy import effective_policy
from supervision.authority import require_authority, stricter
from leave.schemas import LeaveOut
from leave.service import fence_window, scoped_leave, sync_travel_corridor, to_out
from supervision.models import Role
from supervision.scope import require_role

DECIDERS = {Role.officer, Role.manager}


def _required(ctx: Ctx, leave: LeaveRequest) -> str:
    today = effective_policy(ctx.db, leave.office_id).level_for(leave.total_days)
    return stricter(leave.required_level, today).value


def _check_decider(ctx: Ctx, leave: LeaveRequest, action: str) -> str:
    if leave.status != LeaveStatus.pending:
        raise Conflict(f"the request is already {leave.status}")
    if leave.requested_by == ctx.principal.user_id:
        raise Forbidden("you entered this request yourself: someone else must decide it")
    required = _required(ctx, leave)
    what = f"a {leave.total_days}-day leave" + (" (with its extension)" if leave.parent_id else "")
    held = require_authority(ctx.db, ctx.principal, leave.office_id, required, what)
    return held.value


def approve_leave(*, ctx: Ctx, leave_id: int, reason: str) -> LeaveOut:
    """Approve; the destination becomes an allowed area for the leave's window."""
    require_role(ctx.principal, DECIDERS, "approve leave")
    leave = scoped_leave(ctx, leave_id, "leave.approve", lock=True)
    held = _check_decider(ctx, leave, "approve")
    now = ctx.clock.now()
    if now >= leave.depart_at:
        raise Conflict("the departure time has passed: leave is approved before departure; ask for a new request")
    exclude = [leave.id] + ([leave.parent_id] if leave.parent_id else [])
    rules.check_overlap(ctx.db, leave.supervisee_id, leave.depart_at, leave.return_at, exclude=exclude)
    leave.status, leave.decided_by, leave.decided_level = LeaveStatus.approved, ctx.principal.user_id, held
    leave.decided_at, leave.decision_reason = now, reason
    names.stamp_decision(ctx.db, leave)
    if leave.parent_id is None:
        start, end = fence_window(ctx, leave)
        # max(.., now): approved within the allowance before departure, the fence still may not start in the past.
        fence = open_fence(ctx.db, supervisee_id=leave.supervisee_id, dest=leave, label=f"请假目的地 {leave.address}",
                           source={"leave_id": leave.id}, valid_from=max(start, now), valid_to=end,
                           created_by=ctx.principal.user_id)
        leave.fence_id = fence.id
        corridor = sync_travel_corridor(ctx, leave)
    else:
        parent = ctx.db.get(LeaveRequest, leave.parent_id, with_for_update=True)
        if parent.status != LeaveStatus.approved or parent.returned_at is not None:
            raise Conflict(f"the leave #{parent.id} this extends is no longer running")
        parent.return_due_at = leave.return_at
        fence = ctx.db.get(Fence, parent.fence_id) if parent.fence_id else None
        if fence is not None:
            start, end = fence_window(ctx, parent)
            moved = reschedule_fence(ctx.db, fence, valid_from=start, valid_to=end, now=now,
                                     created_by=ctx.principal.user_id)
            parent.fence_id = moved.id if moved is not None else parent.fence_id
        corridor = sync_travel_corridor(ctx, parent)  # the return leg follows the new return time
        leave.fence_id = parent.fence_id
    ctx.db.flush()
    ctx.record("leave.approve", "leave", leave.id, detail={
        "supervisee_id": leave.supervisee_id, "office_id": leave.office_id, "level": held,
        "required_level": leave.required_level, "fence_id": leave.fence_id, "corridor_fence_ids": corridor,
        "reason": reason})
    return to_out(leave)


def reject_leave(*, ctx: Ctx, leave_id: int, reason: str) -> LeaveOut:
    """Reject, with a reason the supervisee will see."""
    require_role(ctx.principal, DECIDERS, "reject leave")
    leave = scoped_leave(ctx, leave_id, "leave.reject", lock=True)
    held = _check_decider(ctx, leave, "reject")
    leave.status, leave.decided_by, leave.decided_level = LeaveStatus.rejected, ctx.principal.user_id, held
    leave.decided_at, leave.decision_reason = ctx.clock.now(), reason
    names.stamp_decision(ctx.db, leave)
    ctx.db.flush()
    ctx.record("leave.reject", "leave", leave.id, detail={
        "supervisee_id": leave.supervisee_id, "office_id": leave.office_id, "level": held, "reason": reason})
    return to_out(leave)
