"""A few routes served without FastAPI's routing and handler machinery: the device
ingest routes, which carry most of the requests a server gets (a phone's fix a minute).

Measured on the device-traffic benchmark, FastAPI spent about five times the
endpoint's own time on each of these requests: matching the path against every
route of the app, the handler wrapper, response serialisation and the
exception layers. Here, inside the app's own middleware (host check, request id,
body limits: all still applied), a request for one of these exact method + path
pairs goes straight to its endpoint; every other request goes on to FastAPI as
before. Errors are answered by the app's own exception handlers, so a refusal
looks exactly as it does on any other route; an error with no handler is
raised to the server-error layer, as FastAPI would.

The endpoints stay registered with FastAPI too (the OpenAPI document lists
them, and a method or path variant this table does not name reaches them).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette._exception_handler import _lookup_exception_handler
from starlette._utils import is_async_callable
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[object]]


class DirectRoutes:
    def __init__(self, app: ASGIApp, *, routes: Mapping[tuple[str, str], Endpoint]) -> None:
        self.app = app
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.routes.get((scope.get("method"), scope.get("path"))) if scope["type"] == "http" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            answer = await endpoint(request)
            response = answer if isinstance(answer, Response) else JSONResponse(answer)
        except Exception as exc:
            handler = _lookup_exception_handler(scope["app"].exception_handlers, exc)  # as Starlette finds it
            if handler is None:
                raise
            response = await handler(request, exc) if is_async_callable(handler) \
                else await run_in_threadpool(handler, request, exc)
        await response(scope, receive, send)

