"""Application factory: wires settings, database, clock and audit into one app."""
from __future__ import annotations

import itertools
import logging
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from alerts import scheduled as alert_jobs
from alerts.hub import run_delivery
from alerts.webhooks import webhook_loop
from api.body_limit import GEOMETRY_LIMIT, BodyLimitMiddleware, BodyLimits
from api.direct_routes import DirectRoutes
from api.errors import install_error_handlers
from api.limits import make_limits
from api.openapi_errors import document_errors
from api.routes import (
    alerts, auth, camera_health, cameras, checkins, console, fences, health, ingest, leave, lifecycle, orders, positions, rollcall,
    sanctions, supervision, tracks, ws,
)
from alerts import purge as alert_purge
from alerts.hooks import on_alert_created
from cameras import purge as camera_purge
from cameras import scheduled as camera_jobs
from cameras.evidence import AttachCameras
from checkins import purge as checkin_purge
from checkins import scheduled as checkin_jobs
from checkins import term_end as checkin_term_end
from core.audit import checkpoint_job as audit_jobs
from core.audit import AuditLog
from core.clock import Clock, SystemClock
from core.db import make_engine, make_session_factory
from core.jobs import Job, JobRunner
from core.logging import install_redaction
from core.security import HashSlots
from core.media import retention as media_retention
from core.media import scheduled as media_jobs
from core.retention import Retention
from core.settings import Settings, get_settings
from geo import purge as geo_purge
from geo import scheduled as geo_jobs
from geo.fences.cache import FenceCache
from geo.ingest.device_cache import DeviceCache
from geo.ingest.group_commit import GroupCommitter
from geo.ingest.jt808.listener import Jt808Listener
from leave import purge as leave_purge
from leave import scheduled as leave_jobs
from lifecycle import purge as lifecycle_purge
from lifecycle import scheduled as lifecycle_jobs
from lifecycle import term as lifecycle_term
from orders import purge as order_purge
from orders import scheduled as order_jobs
from orders import service as order_service
from supervision import purge as supervision_purge
from risk import purge as risk_purge
from risk import scheduled as risk_jobs
from sanctions import purge as sanction_purge
from sanctions import scheduled as sanction_jobs
from rollcall import purge as rollcall_purge
from rollcall import scheduled as rollcall_jobs
from web import routes as web

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# A process's own random half and a counter: unique across processes and restarts,
# and free (uuid4 reads the kernel's random source on every request, which the
# ingest benchmark found in its profile).
_ID_PREFIX = secrets.token_hex(8)
_ID_COUNTER = itertools.count()


def _new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"

# Request body limits by path (api/body_limit.py); every other route: 64 KiB.
BODY_LIMITS = BodyLimits((
    (r"/ingest/(?:native|osmand|owntracks)", ingest.MAX_BODY),
    (r"/supervisees/[^/]+/gpx", ingest.MAX_GPX),
    # Routes that take a GeoJSON geometry: fences, leave destinations, standing permits.
    (r"/supervisees/[^/]+/fences|/fences/[^/]+/versions|/leave|/leave-permits", GEOMETRY_LIMIT),
    # Two photos of a check-in (each at most checkins' MAX_PHOTO) plus the form fields.
    (r"/checkins/[^/]+/submit", checkins.MAX_BODY),
    (r"/supervisees/[^/]+/face-enrolment", checkins.MAX_ENROL_BODY),
    (r"/cameras/import", cameras.MAX_IMPORT),
))

# Every package's answer to "what is kept and what is deleted at a supervisee's
# purge" (core.retention). Each package that owns a table referring to a
# supervisee adds its ``purge.RETENTION`` here; a schema scan test fails on a
# table nobody declares. Order matters: rows pointing at another package's
# rows go first (leave clears its fence links before geo deletes fences; geo
# deletes fixes before supervision deletes the devices they name).
RETENTIONS: tuple[Retention, ...] = (
    rollcall_purge.RETENTION, camera_purge.RETENTION,
    sanction_purge.RETENTION, risk_purge.RETENTION,
    leave_purge.RETENTION, checkin_purge.RETENTION, alert_purge.RETENTION, order_purge.RETENTION,
    geo_purge.RETENTION, supervision_purge.RETENTION, media_retention.RETENTION, lifecycle_purge.RETENTION,
)

# What stopping monitoring at the end of a supervision does (lifecycle.term): the
# term-end job and an officer's early release run these, in order.
TERM_END_STEPS: tuple[lifecycle_term.TermEndStep, ...] = (
    *lifecycle_term.STEPS,
    checkin_term_end.end_checkins,
    order_service.end_orders_step,
)

# Every package's periodic jobs; each runs in one process at a time (core.jobs).
JOBS: tuple[Job, ...] = (*alert_jobs.JOBS, *geo_jobs.JOBS, *leave_jobs.JOBS, *checkin_jobs.JOBS,
                         *sanction_jobs.JOBS, *risk_jobs.JOBS,
                         *audit_jobs.JOBS, *media_jobs.JOBS, *order_jobs.JOBS, *camera_jobs.JOBS, *rollcall_jobs.JOBS,
                         *lifecycle_jobs.jobs(steps=TERM_END_STEPS, retentions=RETENTIONS))


def install_alert_hooks(settings: Settings) -> None:
    """What packages above alerts add to a new alert (alerts/hooks.py). Every process that can raise
    alerts calls this: the app, and ingest workers that run without it (``zhijiao mqtt-ingest``)."""
    # Violation alerts get the cameras that can see them, in the alert's transaction (cameras/evidence.py).
    on_alert_created("cameras", AttachCameras(settings.cameras.camera_snapshots_per_alert))


def job_runner(app: FastAPI) -> JobRunner:
    """The app's jobs and background loops. The audit head is checkpointed once more
    at shutdown, so rows written since the previous checkpoint are covered (a tail
    cut after the newest checkpoint could not be detected)."""
    state = app.state
    return JobRunner(JOBS, session_factory=state.session_factory, clock=state.clock, settings=state.settings,
                     audit=state.audit, loops=[lambda: webhook_loop(app)], final=["audit_checkpoint"])


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Per-process background work: the alert bus, websocket hub and outbox relay,
    the periodic jobs (escalation, silence, overdue returns, checkpoints…), the
    ingest group commit, and the JT/T 808 TCP listener when enabled."""
    state = app.state
    async with run_delivery(settings=state.settings, engine=state.engine, clock=state.clock) as delivery:
        state.delivery = delivery
        jobs = job_runner(app) if state.settings.api.jobs_enabled else None
        jt808 = None
        if state.settings.jt808.jt808_enabled:
            jt808 = Jt808Listener(settings=state.settings, session_factory=state.session_factory,
                                  clock=state.clock, audit=state.audit, fences=state.fence_cache)
            await jt808.start()
        state.jt808 = jt808
        if state.settings.ingest.group_commit:
            state.group_commit = GroupCommitter(session_factory=state.session_factory, settings=state.settings,
                                                clock=state.clock, fences=state.fence_cache,
                                                devices=state.device_cache)
            await state.group_commit.start()
        try:
            if jobs is not None:
                await jobs.start()
            yield
        finally:
            if state.group_commit is not None:
                await state.group_commit.stop()
                state.group_commit = None
            if jobs is not None:
                await jobs.stop()
            if jt808 is not None:
                await jt808.stop()


class RequestIdMiddleware:
    """Tag each request with an id (the caller's if well-formed) for the audit trail."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else _new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


def _host_patterns(hosts: list[str]) -> list[str]:
    # Starlette compares the Host header without its port; an IPv6 literal
    # arrives bracketed ("[::1]").
    return [f"[{h}]" if ":" in h and not h.startswith("[") else h for h in hosts]


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.require_secrets()
    install_redaction()
    if settings.testing.unsafe_ack_before_commit:
        logging.getLogger("zhijiao.api").warning(
            "ZHIJIAO_UNSAFE_ACK_BEFORE_COMMIT is on: ingest answers before it commits (test only; loses data)")
    app = FastAPI(
        title="zhijiao 智矫",
        version="0.1.0",
        description="Community-corrections supervision: location ingest, geofences, alerts, leave and audit.",
        lifespan=lifespan,
        docs_url=None,  # web.routes serves /docs from the local swagger-ui-dist (no CDN)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.engine = engine or make_engine(settings.db.database_url, pool_size=settings.db.db_pool_size)
    app.state.session_factory = make_session_factory(app.state.engine)
    app.state.audit = AuditLog(settings.audit.audit_key.encode(), app.state.clock)
    app.state.fence_cache = FenceCache()
    app.state.device_cache = DeviceCache()
    app.state.group_commit = None  # started by the lifespan (settings.ingest.group_commit)
    app.state.hash_slots = HashSlots(settings.auth.password_hash_slots)
    app.state.limits = make_limits(settings)
    app.state.term_end_steps = TERM_END_STEPS
    install_error_handlers(app)
    install_alert_hooks(settings)
    # Added last is outermost: the request id tags every answer, a 413 included.
    # Innermost: the device ingest routes, past every check above, skip FastAPI's routing.
    app.add_middleware(DirectRoutes, routes=ingest.DIRECT)
    app.add_middleware(BodyLimitMiddleware, limits=BODY_LIMITS)
    app.add_middleware(RequestIdMiddleware)
    # Outermost: a request for another host name (DNS rebinding) is refused
    # before anything else sees it.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=_host_patterns(settings.api.allowed_hosts))
    for module in (health, auth, supervision, fences, ingest, ws, alerts, tracks, positions, console, leave, checkins, orders,
                   lifecycle, cameras, camera_health, rollcall, sanctions, web):
        app.include_router(module.router)
    document_errors(app)
    return app
