"""Request rate limits: per device credential on ingest, per user on the heavy routes.

The buckets are per process (core/ratelimit.py says why); each rate is
divided by ``ZHIJIAO_SERVER_PROCESSES`` so that all processes together allow
the configured rate. Which routes are limited, and why:

- ingest (``/ingest/*``), per presented credential, checked before the body is
  read (native, OwnTracks) or decoded (OsmAnd carries its key in the message),
  and before any database work: a flooding device is answered 429 at the cost
  of a dictionary look-up, so it cannot take the database from other devices;
- per user: GPX upload (32 MiB parsed and judged), the leave report export
  (CSV/PDF built from a whole jurisdiction's period) and websocket tickets
  (each a database write; a console needs one per reconnect).

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
    device: RateLimiter
    heavy: dict[str, RateLimiter]


HEAVY_ROUTES = ("gpx upload", "report export", "websocket ticket")


def make_limits(settings: Settings) -> Limits:
    share = settings.api.server_processes
    device = RateLimiter(rate=settings.ingest.ingest_device_rate_per_second / share,
                         burst=settings.ingest.ingest_device_burst, what="device")
    per_user = settings.api.heavy_route_rate_per_minute / 60 / share
    heavy = {name: RateLimiter(rate=per_user, burst=settings.api.heavy_route_burst, what=f"user ({name})")
             for name in HEAVY_ROUTES}
    return Limits(device, heavy)


def check_device(request: Request, credential: str) -> None:
    """429 (TooManyRequests) once this credential is over its rate; the caller has done no work yet."""
    request.app.state.limits.device.check(credential)


def heavy_route(name: str):
    """A dependency limiting ``name`` per authenticated user (the refusal is audited via its Ctx)."""
    if name not in HEAVY_ROUTES:
        raise ValueError(name)

    def limited(request: Request, ctx: CtxDep) -> Ctx:
        request.app.state.limits.heavy[name].check(str(ctx.principal.user_id))
        return ctx

    return Annotated[Ctx, Depends(limited)]
