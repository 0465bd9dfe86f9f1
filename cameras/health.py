"""Camera health: probe every camera once per period, move it online → degraded → offline, watch offices.

- Spread: each camera has a fixed slot in the probe period (a hash of its id),
  kept as ``next_probe_at``; a round probes the cameras whose slot has come, so
  14,000 cameras are probed ~23 a second, not all at once every ten minutes.
- Bounded: at most ``camera_probe_concurrency`` probes at once, through the
  process's grab pool (shared with the evidence grabs, which keep the other
  workers), and a round stops starting probes when its time is up (the rest
  stay due for the next round).
- States (like Frigate's "no frames received"): a good frame → online; after
  ``camera_degraded_after`` consecutive failures degraded, after
  ``camera_offline_after`` offline. "busy" (our pool was full) is not the
  camera's failure: the probe is simply retried next round.
- Offices: when at least ``camera_offline_alert_share`` of an office's active
  cameras are offline an outage opens (audited, shown in the summary, and a notice
  to every admin over the office: supervision.notices), and it clears when the
  share falls below again (another notice).
"""
from __future__ import annotations

import concurrent.futures
import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import case, func, select

from cameras.health_models import HEALTH_STATES, CameraHealth, CameraOutage
from cameras.models import Camera
from cameras.scope import camera_clause
from cameras.service import check_url, credentials_for, require_reader
from core.context import Ctx
from core.errors import Invalid, NotFound
from core.jobs import JobContext
from core.localtime import LOCAL_TZ
from core.settings import CameraSettings
from supervision.models import Jurisdiction
from supervision.notices import notify_admins

if TYPE_CHECKING:
    from video.capture import GrabPool, GrabResult

log = logging.getLogger("zhijiao.cameras.health")
MAX_PER_ROUND = 2000


def round_seconds(cfg: CameraSettings) -> float:
    """How often the job runs: 1/20 of the period, between 5 s and 60 s."""
    return max(5.0, min(60.0, cfg.camera_probe_minutes * 60 / 20))


def slot(camera_id: int) -> float:
    """The camera's fixed place in the probe period, a fraction in [0, 1) (Fibonacci hashing of its id)."""
    return ((camera_id * 0x9E3779B1) & 0xFFFFFFFF) / 2**32


def next_slot(previous: datetime, period: timedelta, now: datetime) -> datetime:
    """The first slot after ``now`` on the grid of ``previous`` (missed rounds do not bunch probes up)."""
    if previous > now:
        return previous
    periods = (now - previous) // period + 1
    return previous + periods * period


def next_state(state: str, failures: int, cfg: CameraSettings) -> str:
    """The state after a probe (``failures``: consecutive failures including this probe; 0 = it was good)."""
    if failures == 0:
        return "online"
    if failures >= cfg.camera_offline_after:
        return "offline"
    if failures >= cfg.camera_degraded_after:
        return "degraded"
    return state


def _record(job: JobContext, health: CameraHealth, camera: Camera, result: GrabResult | None,
            cfg: CameraSettings, period: timedelta) -> str | None:
    """Apply one probe's outcome; the new state when it changed."""
    error = "refused" if result is None else result.error
    if error == "busy":
        return None  # our pool, not the camera: still due, retried next round
    health.last_probe_at = job.now
    health.next_probe_at = next_slot(health.next_probe_at, period, job.now)
    if result is not None and result.ok:
        health.consecutive_failures, health.last_error = 0, None
        health.last_ok_at, health.latency_ms = job.now, round(result.elapsed_ms, 1)
    else:
        health.consecutive_failures += 1
        health.last_error = (error or "stream_error")[:32]
    new = next_state(health.state, health.consecutive_failures, cfg)
    if new == health.state:
        return None
    job.record("camera.health", "camera", camera.id,
               detail={"from": health.state, "to": new, "error": health.last_error,
                       "failures": health.consecutive_failures})
    health.state, health.state_since = new, job.now
    return new


def _due(job: JobContext, period: timedelta) -> list[tuple[Camera, CameraHealth]]:
    """Active cameras whose slot has come; a camera seen for the first time gets its slot (and waits for it)."""
    fresh = job.db.execute(select(Camera.id).outerjoin(CameraHealth, CameraHealth.camera_id == Camera.id)
                           .where(Camera.status == "active", CameraHealth.camera_id.is_(None))).scalars().all()
    for camera_id in fresh:
        job.db.add(CameraHealth(camera_id=camera_id, state="unknown", state_since=job.now, consecutive_failures=0,
                                next_probe_at=job.now + period * slot(camera_id)))
    job.db.flush()
    return list(job.db.execute(
        select(Camera, CameraHealth).join(CameraHealth, CameraHealth.camera_id == Camera.id)
        .where(Camera.status == "active", CameraHealth.next_probe_at <= job.now)
        .order_by(CameraHealth.next_probe_at, Camera.id).limit(MAX_PER_ROUND)).all())


def probe_cameras(job: JobContext, *, pool: GrabPool | None = None, budget_s: float | None = None) -> dict[str, int]:
    """One round: probe the due cameras (bounded, within the round's time); counts by outcome."""
    cfg = job.settings.cameras
    period = timedelta(minutes=cfg.camera_probe_minutes)
    due = _due(job, period)
    if not due:
        return {}
    if pool is None:
        from cameras.snapshots import shared_pool

        pool = shared_pool(job.settings)
    stop_at = time.monotonic() + (round_seconds(cfg) if budget_s is None else budget_s)
    counts: dict[str, int] = {}
    offices: set[int] = set()
    inflight: dict[concurrent.futures.Future, tuple[Camera, CameraHealth]] = {}
    queue = list(due)

    def finish(camera: Camera, health: CameraHealth, result: GrabResult | None) -> None:
        outcome = "ok" if result is not None and result.ok else ("refused" if result is None else result.error)
        counts[outcome] = counts.get(outcome, 0) + 1
        if _record(job, health, camera, result, cfg, period) is not None:
            offices.add(camera.jurisdiction_id)

    while queue or inflight:
        while queue and len(inflight) < cfg.camera_probe_concurrency and time.monotonic() < stop_at:
            camera, health = queue.pop(0)
            try:
                url = check_url(camera.stream_url, job.settings)  # the networks may have changed since registration
            except Invalid:
                finish(camera, health, None)
                continue
            inflight[pool.submit(url, credentials=credentials_for(job.db, camera.id, job.settings))] = camera, health
        if not inflight:
            break  # out of time: the rest stay due
        done, _ = concurrent.futures.wait(inflight, return_when=concurrent.futures.FIRST_COMPLETED)
        for future in done:
            finish(*inflight.pop(future), future.result())
    counts["left_for_next_round"] = len(queue)
    job.db.flush()
    for office_id in sorted(offices):
        evaluate_office(job, office_id)
    job.db.flush()
    return counts


def office_counts(db, office_id: int) -> tuple[int, int]:
    """(offline, total) among the office's active cameras."""
    offline, total = db.execute(
        select(func.count(case((CameraHealth.state == "offline", 1))), func.count(Camera.id))
        .select_from(Camera).outerjoin(CameraHealth, CameraHealth.camera_id == Camera.id)
        .where(Camera.jurisdiction_id == office_id, Camera.status == "active")).one()
    return int(offline), int(total)


def evaluate_office(job: JobContext, office_id: int) -> CameraOutage | None:
    """Open or clear the office's outage after its cameras' states changed; the open outage, if any."""
    offline, total = office_counts(job.db, office_id)
    share = offline / total if total else 0.0
    outage = job.db.scalar(select(CameraOutage).where(CameraOutage.office_id == office_id,
                                                      CameraOutage.cleared_at.is_(None)).with_for_update())
    over = total > 0 and share >= job.settings.cameras.camera_offline_alert_share
    if outage is None and over:
        outage = CameraOutage(office_id=office_id, opened_at=job.now, offline=offline, total=total)
        job.db.add(outage)
        job.db.flush()
        job.record("camera.outage", "jurisdiction", office_id, outcome="opened",
                   detail={"offline": offline, "total": total, "share": round(share, 3)})
        log.warning("camera outage: office %s has %s of %s cameras offline", office_id, offline, total)
        _tell_admins(job, office_id, "camera_outage",
                     f"视频监控离线 · cameras offline: {offline} of {total} in {{office}} since {{since}}")
        return outage
    if outage is not None and not over:
        outage.cleared_at, outage.offline, outage.total = job.now, offline, total
        job.record("camera.outage", "jurisdiction", office_id, outcome="cleared",
                   detail={"offline": offline, "total": total, "share": round(share, 3)})
        _tell_admins(job, office_id, "camera_outage_cleared",
                     f"视频监控恢复 · cameras back: {offline} of {total} offline in {{office}} at {{since}}")
        return None
    if outage is not None:
        outage.offline, outage.total = offline, total
    return outage


def _tell_admins(job: JobContext, office_id: int, kind: str, template: str) -> None:
    """The office's admins and those above it get a notice (they have no alert socket)."""
    name = job.db.scalar(select(Jurisdiction.name).where(Jurisdiction.id == office_id))
    since = job.now.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    notify_admins(job.db, office_id, kind=kind, message=template.format(office=name, since=since), now=job.now)


def health_summary(*, ctx: Ctx, jurisdiction_id: int | None = None) -> list[dict]:
    """Per jurisdiction (the cameras' office) in the caller's scope: cameras by state, offline share, open outage."""
    require_reader(ctx)
    state = func.coalesce(CameraHealth.state, "unknown")
    query = (select(Camera.jurisdiction_id, Jurisdiction.name, *(func.count(case((state == s, 1))) for s in HEALTH_STATES),
                    func.max(CameraHealth.last_probe_at))
             .select_from(Camera).join(Jurisdiction, Jurisdiction.id == Camera.jurisdiction_id)
             .outerjoin(CameraHealth, CameraHealth.camera_id == Camera.id)
             .where(Camera.status == "active", camera_clause(ctx.principal))
             .group_by(Camera.jurisdiction_id, Jurisdiction.name).order_by(Camera.jurisdiction_id))
    if jurisdiction_id is not None:
        query = query.where(Camera.jurisdiction_id == jurisdiction_id)
    rows = ctx.db.execute(query).all()
    outages = dict(ctx.db.execute(select(CameraOutage.office_id, CameraOutage.opened_at).where(
        CameraOutage.cleared_at.is_(None), CameraOutage.office_id.in_([r[0] for r in rows]))).all())
    items = []
    for office_id, name, *by_state, last_probe in rows:
        counts = dict(zip(HEALTH_STATES, by_state, strict=True))
        total = sum(by_state)
        items.append({"jurisdiction_id": office_id, "jurisdiction_name": name, "total": total, **counts,
                      "offline_share": round(counts["offline"] / total, 3) if total else 0.0,
                      "outage_since": outages.get(office_id), "last_probe_at": last_probe})
    return items


def camera_health(*, ctx: Ctx, camera_id: int) -> CameraHealth:
    """One visible camera's health (a camera not probed yet answers 'unknown'); out of scope is 404."""
    require_reader(ctx)
    camera = ctx.db.scalar(select(Camera).where(Camera.id == camera_id, camera_clause(ctx.principal)))
    if camera is None:
        raise NotFound()
    health = ctx.db.get(CameraHealth, camera_id)
    return health or CameraHealth(camera_id=camera_id, state="unknown", state_since=camera.created_at,
                                  consecutive_failures=0, next_probe_at=camera.created_at)
