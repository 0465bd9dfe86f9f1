"""REST routes for electronic-positioning orders (Law art. 29). Thin: parse, call orders.service, answer.

The unit of work (api.deps) commits, or rolls a refused change back and
keeps its audit row; a route's ``name`` is the audit action of that row.
"""
from __future__ import annotations

from fastapi import APIRouter

from api.deps import CtxDep
from core.schemas import Id
from orders import service
from orders.schemas import ApproveIn, ExtensionIn, OrderIn, OrderOut, TerminateIn

router = APIRouter(tags=["positioning orders"])
_404 = {404: {"description": "Not found, or outside your jurisdiction (indistinguishable)"}}
_HEAD = {**_404, 403: {"description": "Only the district bureau's head approves (Law art. 29)"}}


@router.post("/supervisees/{supervisee_id}/positioning-orders", response_model=OrderOut, status_code=201,
             responses=_404, name="order.propose")
def propose_order(supervisee_id: Id, data: OrderIn, ctx: CtxDep):
    return service.propose_order(ctx=ctx, supervisee_id=supervisee_id, data=data)


@router.get("/supervisees/{supervisee_id}/positioning-orders", response_model=list[OrderOut], responses=_404)
def list_orders(supervisee_id: Id, ctx: CtxDep):
    return service.list_orders(ctx=ctx, supervisee_id=supervisee_id)


@router.get("/positioning-orders/{order_id}", response_model=OrderOut, responses=_404)
def get_order(order_id: Id, ctx: CtxDep):
    return service.get_order(ctx=ctx, order_id=order_id)


@router.post("/positioning-orders/{order_id}/approve", response_model=OrderOut, responses=_HEAD,
             name="order.approve")
def approve_order(order_id: Id, data: ApproveIn, ctx: CtxDep):
    return service.approve_order(ctx=ctx, order_id=order_id, note=data.note)


@router.post("/positioning-orders/{order_id}/extensions", response_model=OrderOut, responses=_404,
             name="order.extension.propose")
def propose_extension(order_id: Id, data: ExtensionIn, ctx: CtxDep):
    return service.propose_extension(ctx=ctx, order_id=order_id, data=data)


@router.post("/positioning-orders/{order_id}/extensions/approve", response_model=OrderOut, responses=_HEAD,
             name="order.extension.approve")
def approve_extension(order_id: Id, ctx: CtxDep):
    return service.approve_extension(ctx=ctx, order_id=order_id)


@router.post("/positioning-orders/{order_id}/terminate", response_model=OrderOut, responses=_404,
             name="order.terminate")
def terminate_order(order_id: Id, data: TerminateIn, ctx: CtxDep):
    return service.terminate_order(ctx=ctx, order_id=order_id, data=data)
