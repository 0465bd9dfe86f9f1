"""REST routes for geofences. Thin: parse, call geo.fences.service, answer (api.deps commits)."""
from __future__ import annotations

from fastapi import APIRouter

from api.deps import CtxDep, PagingDep
from geo.fences import service as fences
from geo.fences.schemas import FenceIn, FenceOut, FenceSummary, FenceVersionIn
from core.schemas import Id, Page

router = APIRouter(tags=["fences"])
_404 = {404: {"description": "Not found, or outside your jurisdiction (indistinguishable)"}}
_422 = {422: {"description": "Invalid input; for geometry, the message says why (self-intersecting, too many "
                             "vertices, out of range, unclosed ring, too large, ...)"}}


@router.post("/supervisees/{supervisee_id}/fences", response_model=FenceOut, status_code=201,
             responses={**_404, **_422})
def create_fence(supervisee_id: Id, data: FenceIn, ctx: CtxDep):
    return fences.create_fence(ctx=ctx, supervisee_id=supervisee_id, data=data)


@router.get("/supervisees/{supervisee_id}/fences", response_model=Page[FenceSummary], responses=_404)
def list_fences(supervisee_id: Id, ctx: CtxDep, paging: PagingDep, include_retired: bool = False):
    return fences.list_fences(ctx=ctx, supervisee_id=supervisee_id, include_retired=include_retired,
                              limit=paging.limit, offset=paging.offset)


@router.get("/fences/{fence_id}", response_model=FenceOut, responses=_404)
def get_fence(fence_id: Id, ctx: CtxDep):
    return fences.get_fence(ctx=ctx, fence_id=fence_id)


@router.post("/fences/{fence_id}/versions", response_model=FenceOut, status_code=201, responses={**_404, **_422})
def new_fence_version(fence_id: Id, data: FenceVersionIn, ctx: CtxDep):
    return fences.new_version(ctx=ctx, fence_id=fence_id, data=data)


@router.post("/fences/{fence_id}/retire", response_model=FenceOut, responses=_404)
def retire_fence(fence_id: Id, ctx: CtxDep):
    return fences.retire_fence(ctx=ctx, fence_id=fence_id)
