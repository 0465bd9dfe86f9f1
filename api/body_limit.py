"""Request body limits, enforced while the body is read, before any route runs.

Without a limit a stranger can make the server buffer (and then parse) an
arbitrarily large body before anything has looked at who sent it: 256 MiB to
``/auth/login`` once cost ~750 MiB of memory for a 422. So every HTTP request
has a limit, chosen by its path (a small default, larger ones only for the
routes that need them), and the limit is enforced twice:

- a declared ``Content-Length`` above it is answered 413 at once, without
  reading a byte of the body (and without calling the app at all);
- a body without one (chunked) is counted as it arrives; the chunk that
  crosses the limit ends the request with 413, and the app is cut off: it
  never sees more than the limit, whatever it does with the error.

The 413 closes the connection (``Connection: close``), so the server stops
reading the rest of an oversized upload instead of draining it.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

KiB = 1024
MiB = 1024 * KiB
# JSON routes: far above any legitimate form, far below anything that hurts.
DEFAULT_LIMIT = 64 * KiB
# Routes that take a GeoJSON geometry (fences, leave destinations, permits): up
# to geo.geometry_input.MAX_VERTICES vertices of GeoJSON fit well within this.
GEOMETRY_LIMIT = 2 * MiB


class _BodyTooLarge(Exception):
    """Raised into the app by ``receive`` once its body crossed the limit."""


def _size(limit: int) -> str:
    for unit, factor in (("MiB", MiB), ("KiB", KiB)):
        if limit >= factor and limit % factor == 0:
            return f"{limit // factor} {unit}"
    return f"{limit} bytes"


class BodyLimits:
    """Which limit a path has: the first matching pattern's, else the default."""

    def __init__(self, routes: Sequence[tuple[str, int]], *, default: int = DEFAULT_LIMIT) -> None:
        self.routes = tuple((re.compile(f"(?:{pattern})"), limit) for pattern, limit in routes)
        self.default = default

    def for_path(self, path: str) -> int:
        for pattern, limit in self.routes:
            if pattern.fullmatch(path):
                return limit
        return self.default


class BodyLimitMiddleware:
    """Pure ASGI: answer 413 for a body over its path's limit, before the app reads it."""

    def __init__(self, app: ASGIApp, *, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return

        received = 0
        started = answered = False

        async def limited_receive() -> Message:
            nonlocal received, answered
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started and not answered:
                        answered = True
                        await _too_large(send, limit)
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the 413 went out; whatever the app makes of the error is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not answered:
                raise


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server rejects a malformed one itself
    return None


async def _too_large(send: Send, limit: int) -> None:
    message = f"request body too large: at most {_size(limit)} ({limit} bytes) on this route"
    body = json.dumps({"detail": message, "errors": [{"field": "body", "message": message}],
                       "limit_bytes": limit}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
