"""Electronic-positioning orders (Law art. 29): propose, approve, extend, terminate.

The request owns the transaction; every change is audited through
``ctx.record``. The lawful window of an approved order is mirrored into geo's
``positioning_windows`` (``_sync_window``), which is all ingest reads: geo
never imports this package. A window is [starts_at, ends_at), so ingest
refuses a tracker's fix at the instant of lapse even before the lapse job
has run.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from core.context import Ctx
from core.errors import Conflict, Forbidden, Invalid, NotFound
from geo.ingest.models import PositioningWindow
from orders.models import GROUND_WORDING, Ground, OrderStatus, PositioningOrder, PositioningOrderExtension
from orders.rules import check_period, latest_end
from orders.schemas import ExtensionIn, ExtensionOut, OrderIn, OrderOut, TerminateIn
from supervision.decisions import require_second_person
from supervision.models import Role, Supervisee, User
from supervision.scope import STAFF_READERS, SUPERVISEE_WRITERS, require_role, supervisee_clause

HEAD_ONLY = "only the head of the district justice bureau (局长) may approve electronic positioning (Law art. 29)"
TERM_ENDED = "term ended"


def _visible_supervisee(ctx: Ctx, supervisee_id: int) -> Supervisee:
    sup = ctx.db.scalar(select(Supervisee).where(Supervisee.id == supervisee_id, supervisee_clause(ctx.principal)))
    if sup is None:
        raise NotFound()
    return sup


def _get(ctx: Ctx, order_id: int, *, lock: bool = False) -> PositioningOrder:
    query = (select(PositioningOrder).join(Supervisee, Supervisee.id == PositioningOrder.supervisee_id)
             .where(PositioningOrder.id == order_id, supervisee_clause(ctx.principal)))
    order = ctx.db.scalar(query.with_for_update(of=PositioningOrder) if lock else query)
    if order is None:
        raise NotFound()
    return order


def in_force(order: PositioningOrder, now: datetime) -> bool:
    return order.status == OrderStatus.approved and order.starts_at <= now < order.ends_at


def order_out(ctx: Ctx, order: PositioningOrder) -> OrderOut:
    extensions = ctx.db.scalars(select(PositioningOrderExtension).where(PositioningOrderExtension.order_id == order.id)
                                .order_by(PositioningOrderExtension.id))
    return OrderOut(
        id=order.id, supervisee_id=order.supervisee_id, office_id=order.office_id, ground=order.ground,
        ground_wording=GROUND_WORDING[Ground(order.ground)], facts=order.facts, proposed_by=order.proposed_by,
        proposed_at=order.proposed_at, starts_at=order.starts_at, ends_at=order.ends_at, status=order.status,
        approved_by=order.approved_by, approved_at=order.approved_at, ended_at=order.ended_at,
        end_reason=order.end_reason, in_force=in_force(order, ctx.clock.now()),
        extensions=[ExtensionOut.model_validate(e) for e in extensions])


def _sync_window(ctx: Ctx, order: PositioningOrder) -> None:
    """Mirror the order's lawful window into geo (ended orders keep a window closed at their end)."""
    end = order.ends_at if order.ended_at is None else max(order.starts_at, min(order.ends_at, order.ended_at))
    stmt = insert(PositioningWindow).values(order_id=order.id, supervisee_id=order.supervisee_id,
                                            starts_at=order.starts_at, ends_at=end)
    ctx.db.execute(stmt.on_conflict_do_update(index_elements=[PositioningWindow.order_id],
                                              set_={"starts_at": order.starts_at, "ends_at": end}))


def _require_manager(ctx: Ctx) -> None:
    # Officers and every other role: refused before any lookup (a bureau head is a manager).
    if ctx.principal.role != Role.manager:
        raise Forbidden(HEAD_ONLY)


def _require_head(ctx: Ctx, order: PositioningOrder, action: str) -> None:
    """The approver must be a bureau head over the supervisee's office (scope already holds)."""
    user = ctx.db.get(User, ctx.principal.user_id)
    if not (user is not None and user.role == Role.manager and user.bureau_head
            and user.jurisdiction.level == "bureau"):
        ctx.record(action, "positioning_order", order.id, outcome="forbidden", detail={"reason": "not_bureau_head"})
        raise Forbidden(HEAD_ONLY)


def propose_order(*, ctx: Ctx, supervisee_id: int, data: OrderIn) -> OrderOut:
    """An officer proposes an order on one of the five grounds; it waits for the bureau head."""
    require_role(ctx.principal, SUPERVISEE_WRITERS, "propose electronic-positioning orders")
    sup = _visible_supervisee(ctx, supervisee_id)
    if sup.status != "active":
        raise Conflict(f"supervision is {sup.status}: no positioning order can be made")
    why = check_period(data.starts_at, data.ends_at)
    if why:
        raise Invalid(why, field="ends_at")
    now = ctx.clock.now()
    if data.ends_at <= now:
        raise Invalid("the order would already have ended", field="ends_at")
    order = PositioningOrder(supervisee_id=sup.id, office_id=sup.office_id, ground=data.ground, facts=data.facts,
                             proposed_by=ctx.principal.user_id, proposed_at=now, starts_at=data.starts_at,
                             ends_at=data.ends_at, status=OrderStatus.proposed)
    ctx.db.add(order)
    ctx.db.flush()
    ctx.record("order.propose", "positioning_order", order.id,
               detail={"supervisee_id": sup.id, "ground": str(data.ground), "starts_at": data.starts_at,
                       "ends_at": data.ends_at})
    return order_out(ctx, order)


def _overlapping(ctx: Ctx, order: PositioningOrder, start: datetime, end: datetime) -> int | None:
    return ctx.db.scalar(select(PositioningOrder.id).where(
        PositioningOrder.supervisee_id == order.supervisee_id, PositioningOrder.id != order.id,
        PositioningOrder.status == OrderStatus.approved, PositioningOrder.starts_at < end,
        PositioningOrder.ends_at > start))


def approve_order(*, ctx: Ctx, order_id: int, note: str | None = None) -> OrderOut:
    """The bureau head approves; positioning is lawful from max(start, now) to the end."""
    _require_manager(ctx)
    order = _get(ctx, order_id, lock=True)
    _require_head(ctx, order, "order.approve")
    require_second_person(ctx, order, action="order.approve", kind="positioning_order", involved=(order.proposed_by,),
                          reason="own_proposal", message="nobody approves an order they proposed")
    if order.status != OrderStatus.proposed:
        raise Conflict(f"this order is already {order.status}")
    now = ctx.clock.now()
    if order.ends_at <= now:
        raise Conflict("the proposed period has already ended: propose a new order")
    # Never retroactive: positioning before the approval would have had no basis.
    start = max(order.starts_at, now)
    other = _overlapping(ctx, order, start, order.ends_at)
    if other is not None:
        raise Conflict(f"order {other} is already approved for this period")
    order.starts_at, order.status, order.approved_by, order.approved_at = start, OrderStatus.approved, \
        ctx.principal.user_id, now
    ctx.db.flush()
    _sync_window(ctx, order)
    ctx.record("order.approve", "positioning_order", order.id,
               detail={"supervisee_id": order.supervisee_id, "starts_at": start, "ends_at": order.ends_at,
                       "note": note})
    return order_out(ctx, order)


def _require_running(order: PositioningOrder, now: datetime) -> None:
    if order.status != OrderStatus.approved or order.ends_at <= now:
        state = "lapsed" if order.status == OrderStatus.approved else order.status
        raise Conflict(f"this order is {state}: only an order in force can be extended (propose a new order)")


def propose_extension(*, ctx: Ctx, order_id: int, data: ExtensionIn) -> OrderOut:
    """After a reassessment, an officer proposes a later end: at most 3 months after the current end."""
    require_role(ctx.principal, SUPERVISEE_WRITERS, "propose extensions of positioning orders")
    order = _get(ctx, order_id, lock=True)
    now = ctx.clock.now()
    _require_running(order, now)
    if data.ends_at <= order.ends_at:
        raise Invalid("an extension must end after the order's current end", field="ends_at")
    if data.ends_at > latest_end(order.ends_at):
        why = check_period(order.ends_at, data.ends_at)
        raise Invalid(f"an extension adds at most 3 months: {why}", field="ends_at")
    pending = ctx.db.scalar(select(PositioningOrderExtension.id).where(
        PositioningOrderExtension.order_id == order.id, PositioningOrderExtension.status == "pending"))
    if pending is not None:
        raise Conflict(f"extension {pending} of this order is already waiting for approval")
    ext = PositioningOrderExtension(order_id=order.id, supervisee_id=order.supervisee_id,
                                    reassessment=data.reassessment, previous_ends_at=order.ends_at,
                                    ends_at=data.ends_at, status="pending", proposed_by=ctx.principal.user_id,
                                    proposed_at=now)
    ctx.db.add(ext)
    ctx.db.flush()
    ctx.record("order.extension.propose", "positioning_order", order.id,
               detail={"extension_id": ext.id, "ends_at": data.ends_at})
    return order_out(ctx, order)


def approve_extension(*, ctx: Ctx, order_id: int) -> OrderOut:
    """The bureau head approves the pending extension while the order is still in force."""
    _require_manager(ctx)
    order = _get(ctx, order_id, lock=True)
    _require_head(ctx, order, "order.extension.approve")
    ext = ctx.db.scalar(select(PositioningOrderExtension).where(
        PositioningOrderExtension.order_id == order.id, PositioningOrderExtension.status == "pending")
        .with_for_update())
    if ext is None:
        raise Conflict("this order has no extension waiting for approval")
    require_second_person(ctx, order, action="order.extension.approve", kind="positioning_order",
                          involved=(ext.proposed_by,), reason="own_proposal",
                          message="nobody approves an extension they proposed")
    now = ctx.clock.now()
    _require_running(order, now)
    if ext.previous_ends_at != order.ends_at:
        raise Conflict("the order's end changed since this extension was proposed")
    other = _overlapping(ctx, order, order.ends_at, ext.ends_at)
    if other is not None:
        raise Conflict(f"order {other} is already approved for the extended period")
    ext.status, ext.approved_by, ext.approved_at = "approved", ctx.principal.user_id, now
    order.ends_at, order.reminded_7d_at, order.reminded_1d_at = ext.ends_at, None, None
    ctx.db.flush()
    _sync_window(ctx, order)
    ctx.record("order.extension.approve", "positioning_order", order.id,
               detail={"extension_id": ext.id, "previous_ends_at": ext.previous_ends_at, "ends_at": ext.ends_at})
    return order_out(ctx, order)


def _end(ctx: Ctx, order: PositioningOrder, *, at: datetime, reason: str, action: str) -> None:
    order.status, order.ended_at, order.ended_by, order.end_reason = \
        OrderStatus.terminated, at, ctx.request.principal.user_id if ctx.request.principal else None, reason
    ctx.db.flush()
    _sync_window(ctx, order)
    ctx.record(action, "positioning_order", order.id,
               detail={"supervisee_id": order.supervisee_id, "ended_at": at, "reason": reason})


def terminate_order(*, ctx: Ctx, order_id: int, data: TerminateIn) -> OrderOut:
    """End an order (or withdraw a proposal) early, with a reason; positioning stops now."""
    require_role(ctx.principal, SUPERVISEE_WRITERS, "end positioning orders")
    order = _get(ctx, order_id, lock=True)
    now = ctx.clock.now()
    if order.status not in (OrderStatus.proposed, OrderStatus.approved) or order.ends_at <= now:
        raise Conflict(f"this order has already ended ({'lapsed' if order.ends_at <= now else order.status})")
    _end(ctx, order, at=now, reason=data.reason, action="order.terminate")
    return order_out(ctx, order)


def end_orders_at_term_end(ctx: Ctx, *, supervisee_id: int, at: datetime) -> list[int]:
    """End of term (Law art. 44): end every open order of the supervisee at ``at``; their ids."""
    rows = list(ctx.db.scalars(select(PositioningOrder).where(
        PositioningOrder.supervisee_id == supervisee_id,
        PositioningOrder.status.in_([OrderStatus.proposed, OrderStatus.approved]),
        PositioningOrder.ends_at > at).order_by(PositioningOrder.id).with_for_update()))
    for order in rows:
        _end(ctx, order, at=at, reason=TERM_ENDED, action="order.term_end")
    return [o.id for o in rows]


def list_orders(*, ctx: Ctx, supervisee_id: int) -> list[OrderOut]:
    require_role(ctx.principal, STAFF_READERS, "read positioning orders")
    _visible_supervisee(ctx, supervisee_id)
    rows = ctx.db.scalars(select(PositioningOrder).where(PositioningOrder.supervisee_id == supervisee_id)
                          .order_by(PositioningOrder.id))
    return [order_out(ctx, o) for o in rows]


def get_order(*, ctx: Ctx, order_id: int) -> OrderOut:
    require_role(ctx.principal, STAFF_READERS, "read positioning orders")
    return order_out(ctx, _get(ctx, order_id))


def end_orders_step(ctx: Ctx, *, supervisee_id: int, at: datetime) -> dict[str, int]:
    """The end-of-term step (lifecycle.term): the orders ended, counted."""
    return {"positioning_orders_ended": len(end_orders_at_term_end(ctx, supervisee_id=supervisee_id, at=at))}
