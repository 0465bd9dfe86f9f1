"""REST routes for cameras: registry, import, coverage, snapshots. Thin: parse, call cameras.*, answer."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response

from api.deps import CtxDep, PagingDep
from cameras import ondemand, service, snapshots
from cameras.importer import import_cameras
from cameras.models import CameraSnapshot
from cameras.schemas import (
    CameraHit, CameraHits, CameraIn, CameraOut, CameraPage, CameraPatch, CameraStatus, ImportReport, SnapshotList,
    SnapshotOut,
)
from core.schemas import Id
from geo.datum import DatumName

router = APIRouter(tags=["cameras"])
_404 = {404: {"description": "Not found, or outside your jurisdiction (indistinguishable)"}}
_403 = {403: {"description": "Your role may not do this"}}
MAX_IMPORT = 8 * 1024 * 1024  # a 14,000-row camera list is ~1.5 MB

Lon = Annotated[float, Query(ge=-180, le=180)]
Lat = Annotated[float, Query(ge=-90, le=90)]


def _snap(row: CameraSnapshot) -> SnapshotOut:
    return SnapshotOut(id=row.id, camera_id=row.camera_id, alert_id=row.alert_id, around_at=row.around_at,
                       distance_m=row.distance_m, state=row.state, error=row.error, frames=len(row.media_ids or []),
                       requested_at=row.requested_at, done_at=row.done_at)


def _hits(rows) -> CameraHits:
    return CameraHits(items=[CameraHit.model_validate(r) for r in rows])


@router.post("/cameras", response_model=CameraOut, status_code=201, responses={**_403, **_404})
def create_camera(data: CameraIn, ctx: CtxDep):
    camera = service.create_camera(ctx=ctx, data=data)
    return service.camera_out(ctx.db, [camera])[0]


@router.get("/cameras", response_model=CameraPage)
def list_cameras(ctx: CtxDep, paging: PagingDep, jurisdiction_id: Id | None = None, status: CameraStatus | None = None):
    rows, total = service.list_cameras(ctx=ctx, limit=paging.limit, offset=paging.offset,
                                       jurisdiction_id=jurisdiction_id, status=status)
    return CameraPage(items=service.camera_out(ctx.db, rows), total=total, limit=paging.limit, offset=paging.offset)


@router.post("/cameras/import", response_model=ImportReport, responses=_403,
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def import_camera_list(ctx: CtxDep, data: Annotated[bytes, Body(media_type="text/csv")],
                       jurisdiction_id: Id = Query(..., description="where the cameras go (each into its office by boundary)")):
    return import_cameras(ctx=ctx, data=data, jurisdiction_id=jurisdiction_id).as_dict()


@router.get("/cameras/coverage", response_model=CameraHits, responses=_403)
def camera_coverage(ctx: CtxDep, lon: Lon, lat: Lat, accuracy: float = Query(0.0, ge=0, le=5000),
                    datum: DatumName = "wgs84", limit: int = Query(20, ge=1, le=200)):
    """Cameras in your scope whose field of view meets the accuracy circle at the point, nearest first."""
    return _hits(ondemand.coverage(ctx=ctx, lon=lon, lat=lat, accuracy_m=accuracy, datum=datum, limit=limit))


@router.get("/cameras/nearby", response_model=CameraHits, responses=_403)
def cameras_nearby(ctx: CtxDep, lon: Lon, lat: Lat, radius: float = Query(500.0, gt=0, le=10_000),
                   datum: DatumName = "wgs84", limit: int = Query(20, ge=1, le=200)):
    """Cameras in your scope within ``radius`` metres of the point, nearest first."""
    return _hits(ondemand.within(ctx=ctx, lon=lon, lat=lat, radius_m=radius, datum=datum, limit=limit))


@router.get("/cameras/{camera_id}", response_model=CameraOut, responses=_404)
def get_camera(camera_id: Id, ctx: CtxDep):
    return service.camera_out(ctx.db, [service.get_camera(ctx=ctx, camera_id=camera_id)])[0]


@router.patch("/cameras/{camera_id}", response_model=CameraOut, responses={**_403, **_404})
def update_camera(camera_id: Id, data: CameraPatch, ctx: CtxDep):
    return service.camera_out(ctx.db, [service.update_camera(ctx=ctx, camera_id=camera_id, data=data)])[0]


@router.post("/cameras/{camera_id}/snapshots", response_model=SnapshotOut, status_code=201, responses={**_403, **_404})
def grab_from_camera(camera_id: Id, ctx: CtxDep):
    """Ask for a frame of this camera now; the snapshot job grabs it (state "pending" until then)."""
    return _snap(ondemand.grab_from_camera(ctx=ctx, camera_id=camera_id))


@router.get("/alerts/{alert_id}/snapshots", response_model=SnapshotList, responses=_404)
def list_alert_snapshots(alert_id: Id, ctx: CtxDep):
    return SnapshotList(items=[_snap(r) for r in ondemand.list_alert_snapshots(ctx=ctx, alert_id=alert_id)])


@router.post("/alerts/{alert_id}/snapshots", response_model=SnapshotList, status_code=201, responses={**_403, **_404})
def grab_for_alert(alert_id: Id, ctx: CtxDep):
    """Ask again for frames of the cameras covering where the alert's violation began."""
    return SnapshotList(items=[_snap(r) for r in ondemand.grab_for_alert(ctx=ctx, alert_id=alert_id)])


@router.get("/camera-snapshots/{snapshot_id}", response_model=SnapshotOut, responses=_404)
def get_snapshot(snapshot_id: Id, ctx: CtxDep):
    """One grab's state (an on-demand grab is "pending" until the snapshot job has taken it)."""
    return _snap(snapshots.get_snapshot(ctx=ctx, snapshot_id=snapshot_id))


@router.get("/camera-snapshots/{snapshot_id}/frames/{index}", response_class=Response, responses={
    **_404, 200: {"content": {"image/jpeg": {}}, "description": "the frame (JPEG)"}})
def get_frame(snapshot_id: Id, index: Annotated[int, Path(ge=0, le=99)], ctx: CtxDep):
    blob = snapshots.read_frame(ctx=ctx, snapshot_id=snapshot_id, index=index)
    return Response(blob.data, media_type=blob.content_type, headers={"Cache-Control": "no-store"})
