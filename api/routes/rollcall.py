"""REST routes for remote roll-calls (远程点名): camera suggestions, start, the supervisee's open
requests, the officer's record and evidence frames, decisions and cancels.

Thin: parse, call the service, answer; the unit of work (api.deps) commits or rolls back.
Out of scope answers 404, exactly like an id that does not exist.
"""
from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import CtxDep, PagingDep
from core.schemas import Id
from rollcall import service
from rollcall.gestures import GESTURES
from rollcall.schemas import RollcallCancelIn, RollcallDecideIn, RollcallIn

router = APIRouter(tags=["rollcall"])
_404 = {404: {"description": "Not found, or outside your jurisdiction (indistinguishable)"}}


@router.get("/rollcalls/gestures", summary="The prescribed gestures and their prompts (zh-CN)")
def gestures(ctx: CtxDep):  # any signed-in caller: the catalogue, nobody's data
    return [{"kind": g.kind, "prompt": g.prompt} for g in GESTURES.values()]


@router.get("/supervisees/{supervisee_id}/rollcall-cameras", responses=_404, name="rollcall.suggest",
            summary="Cameras nearest the supervisee's phone (its last position; audited)")
def suggest(supervisee_id: Id, ctx: CtxDep, radius_m: float | None = Query(None, gt=0, le=20_000)):
    return service.suggest_cameras(ctx=ctx, supervisee_id=supervisee_id, radius_m=radius_m)


@router.post("/rollcalls", status_code=201, name="rollcall.start",
             summary="Start a roll-call: the supervisee must stand in front of the camera within N minutes")
def start(data: RollcallIn, ctx: CtxDep):
    return service.start_rollcall(ctx=ctx, supervisee_id=data.supervisee_id, camera_id=data.camera_id,
                                  minutes=data.minutes, gesture=data.gesture)


@router.get("/rollcalls/mine", summary="My open roll-calls: camera, gesture, deadline (supervisee)")
def mine(ctx: CtxDep):
    return service.my_rollcalls(ctx=ctx)


@router.get("/rollcalls", summary="Roll-calls in scope; pending=true: done and not yet decided")
def list_rollcalls(ctx: CtxDep, paging: PagingDep, pending: bool = False, supervisee_id: Id | None = Query(None)):
    return service.list_rollcalls(ctx=ctx, supervisee_id=supervisee_id, pending=pending, limit=paging.limit,
                                  offset=paging.offset)


@router.get("/rollcalls/{rollcall_id}", responses=_404, name="rollcall.read",
            summary="One roll-call (staff: outcome, evidence, frames; the supervisee: the request only)")
def get_rollcall(rollcall_id: Id, ctx: CtxDep):
    return service.get_rollcall(ctx=ctx, rollcall_id=rollcall_id)


@router.get("/rollcall-frames/{frame_id}", responses={**_404, 200: {"content": {"image/jpeg": {}}}},
            response_class=Response, name="rollcall.frame",
            summary="One roll-call evidence frame (the supervisee's officers and managers; audited)")
def frame(frame_id: Id, ctx: CtxDep):
    blob = service.read_frame(ctx=ctx, frame_id=frame_id)
    # A camera picture of a person: no browser or proxy may keep a copy.
    return Response(blob.data, media_type=blob.content_type, headers={"Cache-Control": "no-store"})


@router.post("/rollcalls/{rollcall_id}/decision", responses=_404, name="rollcall.decide",
             summary="Confirm or overturn a finished roll-call's outcome, with a reason")
def decide(rollcall_id: Id, data: RollcallDecideIn, ctx: CtxDep):
    return service.decide(ctx=ctx, rollcall_id=rollcall_id, decision=data.decision, reason=data.reason)


@router.post("/rollcalls/{rollcall_id}/cancel", responses=_404, name="rollcall.cancel",
             summary="Call off a waiting roll-call, with a reason")
def cancel(rollcall_id: Id, data: RollcallCancelIn, ctx: CtxDep):
    return service.cancel(ctx=ctx, rollcall_id=rollcall_id, reason=data.reason)
