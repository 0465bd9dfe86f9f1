"""Request rate limits: per device credential on ingest, per user on the heavy routes.

The buckets are per process (core/ratelimit.py says why); each rate is
divided by ``ZHIJIAO_SERVER_PROCESSES`` so that all processes together allow
the configured rate. Which routes are limited, and why:

- ingest (``/ingest/*``), per presented credential, twice: requests, checked
  before the body is read (native, OwnTracks) or once the one-fix message is
  decoded (OsmAnd carries its key in it), before any database work; and fixes,
  checked once the batch is decoded, after only the credential's look-up and
  before the pipeline (judging, folding, COPY, commit). A flooding device is
  answered 429 cheaply and cannot take the server from other devices, however
  it batches;
- per user: GPX upload (32 MiB parsed and judged), the leave report export
  (CSV/PDF built from a whole jurisdiction's period), websocket tickets
  (each a database write; a console needs one per reconnect), photo check-ins
  and face enrolments (multipart bodies of up to 16 / 48 MiB, photos decoded
  and analysed by the face models); checked before the body is read.

Login has its own throttle, shared by all processes (api/routes/auth.py),
because a password guess must be counted wherever it lands.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.deps import CtxDep
from core.context import Ctx
from core.ratelimit import RateLimiter
from core.settings import Settings


@dataclass
class Limits:
    device: RateLimiter  # requests per device credential
    device_fixes: RateLimiter  # fixes per device credential
    heavy: dict[str, RateLimiter]


HEAVY_ROUTES = ("gpx upload", "report export", "websocket ticket", "photo check-in", "face enrolment")


def make_limits(settings: Settings) -> Limits:
    share = settings.api.server_processes
    device = RateLimiter(rate=settings.ingest.ingest_device_rate_per_second / share,
                         burst=settings.ingest.ingest_device_burst, what="device")
    device_fixes = RateLimiter(rate=settings.ingest.ingest_device_fixes_per_second / share,
                               burst=settings.ingest.ingest_device_fix_burst, what="device", unit="fixes")
    per_user = settings.api.heavy_route_rate_per_minute / 60 / share
    heavy = {name: RateLimiter(rate=per_user, burst=settings.api.heavy_route_burst, what=f"user ({name})")
             for name in HEAVY_ROUTES}
    return Limits(device, device_fixes, heavy)


def check_device(request: Request, credential: str) -> None:
    """429 (TooManyRequests) once this credential is over its request rate, or has no fix
    left to send; the caller has done no work yet (not even read the body)."""
    limits = request.app.state.limits
    limits.device_fixes.check(credential, consume=False)  # a device out of fixes is refused unread
    limits.device.check(credential)


def check_device_fixes(request: Request, credential: str, fixes: int) -> None:
    """429 once this credential's fixes are over their rate: checked after decoding, before the database."""
    request.app.state.limits.device_fixes.check(credential, fixes)


def heavy_route(name: str):
    """A dependency limiting ``name`` per authenticated user (the refusal is audited via its Ctx)."""
    if name not in HEAVY_ROUTES:
        raise ValueError(name)

    def limited(request: Request, ctx: CtxDep) -> Ctx:
        request.app.state.limits.heavy[name].check(str(ctx.principal.user_id))
        return ctx

    return Annotated[Ctx, Depends(limited)]
