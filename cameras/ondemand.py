"""What officers ask of cameras: coverage of a point, cameras nearby, a grab now, an alert's frames.

Coverage and "within" answer only cameras in the caller's scope. A grab on
demand is a pending snapshot like an alert's (the snapshot job takes it), so
a request never waits on a camera.
"""
from __future__ import annotations

from sqlalchemy import select

from alerts.facts import Evidence
from alerts.models import Alert, AlertEvidence
from alerts.scope import alert_clause
from cameras.coverage import CameraHit, cameras_within, covering_cameras
from cameras.evidence import evidence_position, request_snapshots
from cameras.models import Camera, CameraSnapshot
from cameras.scope import camera_clause
from cameras.service import CAMERA_READERS
from cameras.snapshots import alert_snapshots
from core.context import Ctx
from core.errors import Invalid, NotFound
from geo.datum import to_wgs84
from supervision.scope import SUPERVISEE_WRITERS, STAFF_READERS, office_scope, require_role

def _wgs84(lon: float, lat: float, datum: str) -> tuple[float, float]:
    return to_wgs84(lon, lat, datum) if datum != "wgs84" else (lon, lat)


def coverage(*, ctx: Ctx, lon: float, lat: float, accuracy_m: float, datum: str, limit: int) -> list[CameraHit]:
    require_role(ctx.principal, CAMERA_READERS, "read cameras")
    lon, lat = _wgs84(lon, lat, datum)
    return covering_cameras(ctx.db, lon=lon, lat=lat, accuracy_m=accuracy_m, clause=camera_clause(ctx.principal),
                            limit=limit)


def within(*, ctx: Ctx, lon: float, lat: float, radius_m: float, datum: str, limit: int) -> list[CameraHit]:
    require_role(ctx.principal, CAMERA_READERS, "read cameras")
    lon, lat = _wgs84(lon, lat, datum)
    return cameras_within(ctx.db, lon=lon, lat=lat, radius_m=radius_m, clause=camera_clause(ctx.principal),
                          limit=limit)


def _visible_alert(ctx: Ctx, alert_id: int) -> Alert:
    alert = ctx.db.scalar(select(Alert).where(Alert.id == alert_id, alert_clause(ctx.principal)))
    if alert is None:
        raise NotFound()
    return alert


def list_alert_snapshots(*, ctx: Ctx, alert_id: int) -> list[CameraSnapshot]:
    require_role(ctx.principal, STAFF_READERS, "read alert evidence")
    _visible_alert(ctx, alert_id)
    return alert_snapshots(ctx.db, alert_id)


def grab_for_alert(*, ctx: Ctx, alert_id: int) -> list[CameraSnapshot]:
    """Ask again for frames of the cameras that cover where the alert's violation began."""
    require_role(ctx.principal, SUPERVISEE_WRITERS, "ask for camera frames")
    alert = _visible_alert(ctx, alert_id)
    stored = ctx.db.scalars(select(AlertEvidence).where(AlertEvidence.alert_id == alert.id)).all()
    where = evidence_position([Evidence(t=e.t, lon=e.lon, lat=e.lat, accuracy_m=e.accuracy_m, datum=e.datum)
                               for e in stored])
    if where is None:
        raise Invalid("this alert has no position a camera could show")
    lon, lat, accuracy, _ = where
    hits = covering_cameras(ctx.db, lon=lon, lat=lat, accuracy_m=accuracy,
                            limit=ctx.settings.cameras.camera_snapshots_per_alert or 1)
    if not hits:
        raise Invalid("no registered camera covers where this alert's violation began")
    now = ctx.clock.now()
    rows = request_snapshots(ctx.db, alert=alert, hits=hits, around_at=now, now=now,
                             requested_by=ctx.principal.user_id)
    ctx.record("camera.snapshot_request", "alert", alert.id, detail={"camera_ids": [h.id for h in hits]})
    return rows


def grab_from_camera(*, ctx: Ctx, camera_id: int) -> CameraSnapshot:
    """A frame of one camera now (no alert): staff who can see the camera."""
    require_role(ctx.principal, SUPERVISEE_WRITERS, "ask for camera frames")
    camera = ctx.db.scalar(select(Camera).where(Camera.id == camera_id, camera_clause(ctx.principal),
                                                office_scope(ctx.principal, Camera.jurisdiction_id)))
    if camera is None:
        raise NotFound()
    now = ctx.clock.now()
    hit = CameraHit(camera.id, camera.code, camera.name, camera.lon, camera.lat, camera.heading, camera.fov,
                    camera.range_m, camera.jurisdiction_id, distance_m=0.0)
    [row] = request_snapshots(ctx.db, alert=None, hits=[hit], around_at=now, now=now,
                              requested_by=ctx.principal.user_id)
    row.distance_m = None
    ctx.record("camera.snapshot_request", "camera", camera.id, detail={"snapshot_id": row.id})
    return row
