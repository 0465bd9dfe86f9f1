"""What roll-calls need of the camera registry (cameras/): one camera in scope, the cameras near a
point, and where and how to grab from one. Kept in one place so the registry's internals stay there.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cameras.coverage import CameraHit, cameras_within
from cameras.models import Camera
from cameras.scope import camera_clause
from cameras.service import camera_networks, credentials_for
from core.context import Ctx
from core.errors import NotFound
from core.settings import Settings
from video.camera_url import CameraUrl, check_camera_url


def scoped_camera(ctx: Ctx, camera_id: int) -> Camera:
    """An active camera the caller may see; anything else is 404 (out of scope looks like nonexistent)."""
    camera = ctx.db.scalar(select(Camera).where(Camera.id == camera_id, Camera.status == "active",
                                                camera_clause(ctx.principal)))
    if camera is None:
        raise NotFound()
    return camera


def cameras_near(ctx: Ctx, *, lon: float, lat: float, radius_m: float, limit: int) -> list[CameraHit]:
    """Active cameras in the caller's scope within ``radius_m`` of a WGS-84 point, nearest first."""
    return cameras_within(ctx.db, lon=lon, lat=lat, radius_m=radius_m, clause=camera_clause(ctx.principal),
                          limit=limit)


def grab_target(db: Session, camera_id: int, settings: Settings) -> tuple[CameraUrl, tuple[str, str] | None]:
    """The camera's URL checked again now (networks may have changed; the address is pinned now) and its
    credentials. Raises LookupError for a camera gone or disabled, CameraUrlRefused for a refused URL."""
    camera = db.scalar(select(Camera).where(Camera.id == camera_id, Camera.status == "active"))
    if camera is None:
        raise LookupError("camera removed or disabled")
    url = check_camera_url(camera.stream_url, networks=camera_networks(settings))
    return url, credentials_for(db, camera.id, settings)
