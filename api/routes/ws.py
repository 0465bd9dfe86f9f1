"""The live alert stream: ``POST /ws/tickets`` and the ``GET /ws/alerts`` websocket.

Protocol (JSON text frames):

1. The page POSTs ``/ws/tickets`` with its bearer token: ``{"ticket", "expires_in"}``.
2. It opens ``/ws/alerts`` (the ``Origin`` must be allow-listed; no secret in the
   URL) and sends ``{"type": "auth", "ticket": "...", "last_seq": N | null}``.
3. The server sends ``{"type": "snapshot", "seq": S, "alerts": [...]}`` (open
   alerts in scope), or, with ``last_seq``, every missed event in scope then
   ``{"type": "resumed", "seq": S, ...}``; then live
   ``{"type": "event", "seq": N, "event": "created", "alert": {...}, ...}``,
   never one twice, and ``{"type": "ping", "seq": N}`` every heartbeat; the
   client may answer ``{"type": "pong"}``.
4. Close codes: 4000 "resync" (too slow or the server lost events: reconnect
   with ``last_seq``; if a ``{"type": "resync", "seq": R}`` message came just
   before, with ``last_seq`` at most R), 4001 "reauthenticate" (the user was
   deactivated or moved, changed their password or had it reset, or the
   bearer token the ticket was bought with expired: fetch a new ticket, reconnect with ``last_seq``), 1008 (origin, ticket, rate
   or protocol), 1009 (message too big), 1013 (server not ready: retry).

The session itself (steps 2-4) is alerts/session.py's; this route checks the
Origin, accepts, and adapts Starlette's WebSocket to its ``Transport``.
"""
from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request, WebSocket
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect, WebSocketState

from alerts.session import SocketServices, serve_socket
from alerts.tickets import issue_ticket
from api.deps import load_principal
from api.limits import heavy_route
from core.db import database_outage_reason, is_database_outage
from core.principal import RequestContext
from supervision.scope import STAFF_READERS, require_role

router = APIRouter(tags=["alerts"])
TicketCtx = heavy_route("websocket ticket")
log = logging.getLogger("zhijiao.api")


class TicketOut(BaseModel):
    ticket: str
    expires_in: int


@router.post("/ws/tickets", response_model=TicketOut, status_code=201)
def create_ticket(request: Request, ctx: TicketCtx) -> TicketOut:
    """A one-time ticket (≤ 30 s) to open the alert websocket with; the socket ends
    when the bearer token it was bought with expires."""
    require_role(ctx.principal, STAFF_READERS, "watch live alerts")
    ticket, ttl = issue_ticket(ctx.db, user_id=ctx.principal.user_id, now=ctx.clock.now(),
                               ttl_seconds=ctx.settings.hub.ws_ticket_ttl_seconds,
                               token_version=ctx.principal.token_version,
                               session_ends_at=getattr(request.state, "token_expires_at", None))
    return TicketOut(ticket=ticket, expires_in=ttl)


@router.websocket("/ws/alerts")
async def alerts_socket(websocket: WebSocket) -> None:
    state = websocket.app.state
    if websocket.headers.get("origin") not in state.settings.api.allowed_origins:
        # Closing before accept makes the server answer the handshake with 403: a
        # page on another site cannot ride on the officer's session.
        await websocket.close(code=1008)
        return
    await websocket.accept()
    services = SocketServices(settings=state.settings, clock=state.clock, session_factory=state.session_factory,
                              audit=state.audit, hub=state.delivery.hub, load_principal=load_principal)
    context = RequestContext(principal=None, request_id=websocket.scope.get("state", {}).get("request_id"),
                             source_addr=websocket.client.host if websocket.client else None)
    transport = StarletteTransport(websocket)
    try:
        await serve_socket(transport, services, context)
    except (WebSocketDisconnect, OSError, RuntimeError):
        pass  # the client went away mid-send
    except Exception as exc:
        if not is_database_outage(exc):
            raise
        # As a REST route answers 503: one line without the statement, and "retry".
        log.error("database unavailable on websocket %s: %s", websocket.url.path, database_outage_reason(exc))
        await transport.close(1013, "database unavailable, retry")


class StarletteTransport:
    """alerts.session.Transport over a Starlette WebSocket."""

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def send_text(self, data: str) -> None:
        await self._ws.send_text(data)

    async def receive(self) -> str | bytes | None:
        frame = await self._ws.receive()
        if frame["type"] == "websocket.disconnect":
            return None
        data = frame.get("text")
        return data if data is not None else frame.get("bytes") or b""

    async def close(self, code: int, reason: str) -> None:
        if self._ws.application_state != WebSocketState.CONNECTED:
            return
        try:
            # Bounded: a client that stopped reading must not pin this task.
            async with asyncio.timeout(5):
                await self._ws.close(code=code, reason=reason)
        except (TimeoutError, WebSocketDisconnect, OSError, RuntimeError):
            pass
