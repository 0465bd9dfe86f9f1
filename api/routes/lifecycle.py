"""REST routes of the end of term (lifecycle/): early release, legal holds, the lifecycle record.

Thin: the term-end steps come from the composition root (app.state.term_end_steps).
"""
from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import CtxDep
from core.schemas import Id
from lifecycle import service
from lifecycle.schemas import HoldOut, LifecycleOut, ReasonIn, ReleaseOut

router = APIRouter(tags=["end of term"])
_404 = {404: {"description": "Not found, or outside your jurisdiction (indistinguishable)"}}


@router.get("/supervisees/{supervisee_id}/lifecycle", response_model=LifecycleOut, responses=_404,
            name="lifecycle.read")
def get_lifecycle(supervisee_id: Id, ctx: CtxDep):
    return service.get_lifecycle(ctx=ctx, supervisee_id=supervisee_id)


@router.post("/supervisees/{supervisee_id}/release", response_model=ReleaseOut, status_code=201, responses=_404,
             name="supervision.release")
def release_early(supervisee_id: Id, data: ReasonIn, ctx: CtxDep, request: Request):
    return service.release_early(ctx=ctx, supervisee_id=supervisee_id, reason=data.reason,
                                 steps=request.app.state.term_end_steps)


@router.post("/supervisees/{supervisee_id}/legal-holds", response_model=HoldOut, status_code=201, responses=_404,
             name="legal_hold.set")
def set_hold(supervisee_id: Id, data: ReasonIn, ctx: CtxDep):
    return service.set_hold(ctx=ctx, supervisee_id=supervisee_id, reason=data.reason)


@router.post("/legal-holds/{hold_id}/lift", response_model=HoldOut, responses=_404, name="legal_hold.lift")
def lift_hold(hold_id: Id, data: ReasonIn, ctx: CtxDep):
    return service.lift_hold(ctx=ctx, hold_id=hold_id, reason=data.reason)
