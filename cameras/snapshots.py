"""Grabbing the frames of pending snapshot requests, and serving them to who may see them.

The snapshot job takes pending rows (``FOR UPDATE SKIP LOCKED``, so several
processes share the work), grabs one frame per camera through the bounded
``video.capture.GrabPool`` (hard deadline per grab, a hung camera costs one
worker for at most that long) and stores the frames in the media store,
encrypted, under the alert's supervisee (the purge deletes them with the
person's other operational data). The URL is checked again at grab time: the
camera networks may have changed since registration, and the address the
check pins is the one connected to (no DNS rebinding).

Frames are read only by callers who can see the snapshot's alert (alerts
scope), or for a grab made from a camera without an alert, staff who can see
the camera; anyone else gets the nonexistent answer.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from alerts.models import Alert
from alerts.scope import alert_clause
from cameras.models import Camera, CameraSnapshot
from cameras.service import check_url, credentials_for
from core import media
from core.context import Ctx
from core.errors import Invalid, NotFound
from core.jobs import JobContext
from core.settings import Settings
from supervision.scope import STAFF_READERS, office_scope, require_role

if TYPE_CHECKING:
    from video.capture import GrabPool

MAX_ATTEMPTS = 3  # "busy" (the pool's queue was full) is retried; a camera's own failure is final
_pool: GrabPool | None = None
_pool_lock = threading.Lock()


def shared_pool(settings: Settings) -> GrabPool:
    """This process's grab pool (bounded workers and queue), created on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            from video.capture import GrabPool

            _pool = GrabPool.from_settings(settings.cameras)
        return _pool


def grab_pending(job: JobContext, *, pool: GrabPool | None = None, limit: int = 16) -> dict[str, int]:
    """One round: grab the oldest pending requests; counts by outcome."""
    rows = job.db.execute(
        select(CameraSnapshot, Camera).join(Camera, Camera.id == CameraSnapshot.camera_id)
        .where(CameraSnapshot.state == "pending").order_by(CameraSnapshot.requested_at, CameraSnapshot.id)
        .limit(limit).with_for_update(of=CameraSnapshot, skip_locked=True)
    ).all()
    if not rows:
        return {}
    pool = pool or shared_pool(job.settings)
    futures = []
    for snap, camera in rows:
        try:
            url = check_url(camera.stream_url, job.settings)
        except Invalid:
            futures.append((snap, camera, None))
            continue
        futures.append((snap, camera, pool.submit(url, credentials=credentials_for(job.db, camera.id, job.settings))))
    counts: dict[str, int] = {}
    for snap, camera, future in futures:
        outcome = _finish(job, snap, camera, future.result() if future is not None else None)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _finish(job: JobContext, snap: CameraSnapshot, camera: Camera, result) -> str:
    snap.attempts += 1
    if result is None:
        snap.state, snap.error = "failed", "refused"
    elif result.ok and result.frames:
        snap.media_ids = [media.store(job.db, data=frame, content_type="image/jpeg", kind="snapshot",
                                      purpose="camera_evidence" if snap.alert_id else "camera_on_demand",
                                      supervisee_id=snap.supervisee_id, settings=job.settings)
                          for frame in result.frames]
        snap.state, snap.error, snap.elapsed_ms = "done", None, result.elapsed_ms
    elif result.error == "busy" and snap.attempts < MAX_ATTEMPTS:
        return "busy"  # stays pending for the next round
    else:
        snap.state, snap.error, snap.elapsed_ms = "failed", (result.error or "stream_error")[:32], result.elapsed_ms
    snap.done_at = job.now
    job.record("camera.snapshot", "camera_snapshot", snap.id,
               detail={"camera_id": camera.id, "alert_id": snap.alert_id, "state": snap.state, "error": snap.error,
                       "frames": len(snap.media_ids)})
    return snap.state


def snapshot_clause(ctx: Ctx) -> ColumnElement[bool]:
    """Snapshots the caller may see: those of visible alerts, and alert-less grabs of visible cameras."""
    principal = ctx.principal
    visible_alerts = select(Alert.id).where(alert_clause(principal))
    visible_cameras = select(Camera.id).where(office_scope(principal, Camera.jurisdiction_id))
    return (CameraSnapshot.alert_id.in_(visible_alerts)
            | (CameraSnapshot.alert_id.is_(None) & CameraSnapshot.camera_id.in_(visible_cameras)))


def visible_snapshot(ctx: Ctx, snapshot_id: int) -> CameraSnapshot:
    snap = ctx.db.scalar(select(CameraSnapshot).where(CameraSnapshot.id == snapshot_id, snapshot_clause(ctx)))
    if snap is None:
        raise NotFound()
    return snap


def get_snapshot(*, ctx: Ctx, snapshot_id: int) -> CameraSnapshot:
    require_role(ctx.principal, STAFF_READERS, "read camera frames")
    return visible_snapshot(ctx, snapshot_id)


def read_frame(*, ctx: Ctx, snapshot_id: int, index: int):
    """One frame (a MediaBlob) of a visible snapshot; the read is audited by the media store."""
    require_role(ctx.principal, STAFF_READERS, "read camera frames")
    snap = visible_snapshot(ctx, snapshot_id)
    if not 0 <= index < len(snap.media_ids):
        raise NotFound()
    return media.read(ctx.db, snap.media_ids[index], purpose="camera_snapshot", ctx=ctx)


def alert_snapshots(db: Session, alert_id: int) -> list[CameraSnapshot]:
    return list(db.scalars(select(CameraSnapshot).where(CameraSnapshot.alert_id == alert_id)
                           .order_by(CameraSnapshot.distance_m.nulls_last(), CameraSnapshot.id)))
