"""REST routes for camera health. Thin: parse, call cameras.health, answer.

Under /camera-health rather than /cameras/health so they cannot collide with
/cameras/{camera_id}.
"""
from __future__ import annotations

from fastapi import APIRouter

from api.deps import CtxDep
from cameras import health
from cameras.health_schemas import CameraHealthOut, HealthSummary
from core.schemas import Id

router = APIRouter(tags=["cameras"])


@router.get("/camera-health", response_model=HealthSummary)
def health_summary(ctx: CtxDep, jurisdiction_id: Id | None = None):
    """Cameras by health state per jurisdiction in your scope, with open outages."""
    return HealthSummary(items=health.health_summary(ctx=ctx, jurisdiction_id=jurisdiction_id))


@router.get("/camera-health/{camera_id}", response_model=CameraHealthOut,
            responses={404: {"description": "Not found, or outside your jurisdiction (indistinguishable)"}})
def camera_health(camera_id: Id, ctx: CtxDep):
    return health.camera_health(ctx=ctx, camera_id=camera_id)
