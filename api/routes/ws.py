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
   with ``last_seq``), 1008 (origin, ticket, rate or protocol), 1009 (message
   too big), 1013 (server not ready: retry).
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from fastapi import APIRouter, WebSocket
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect, WebSocketState

from alerts.hub import RESYNC, HubClient, initial_messages
from alerts.tickets import issue_ticket, redeem_ticket
from api.deps import CtxDep, load_principal
from core.principal import Principal, RequestContext
from supervision.scope import STAFF_READERS, require_role

log = logging.getLogger(__name__)
router = APIRouter(tags=["alerts"])

Close = tuple[int, str]


class TicketOut(BaseModel):
    ticket: str
    expires_in: int


@router.post("/ws/tickets", response_model=TicketOut, status_code=201)
def create_ticket(ctx: CtxDep) -> TicketOut:
    """A one-time ticket (≤ 30 s) to open the alert websocket with."""
    require_role(ctx.principal, STAFF_READERS, "watch live alerts")
    ticket, ttl = issue_ticket(ctx.db, user_id=ctx.principal.user_id, now=ctx.clock.now(),
                               ttl_seconds=ctx.settings.hub.ws_ticket_ttl_seconds)
    ctx.db.commit()
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
    try:
        await _serve(websocket)
    except (WebSocketDisconnect, OSError, RuntimeError):
        pass  # the client went away mid-send


async def _serve(websocket: WebSocket) -> None:
    state, limits = websocket.app.state, websocket.app.state.settings.hub
    authed = await _authenticate(websocket)
    if authed is None:
        return
    principal, last_seq = authed
    try:
        client = await state.delivery.hub.register(principal, queue_cap=limits.ws_queue_cap)
    except TimeoutError:
        await _close(websocket, (1013, "alert bus unavailable, retry"))
        return
    try:
        messages, client.last_seq = await asyncio.to_thread(_initial, state, principal, last_seq)
        for message in messages:
            await websocket.send_text(json.dumps(message, ensure_ascii=False, separators=(",", ":")))
        await _close(websocket, await _stream(websocket, client))
    finally:
        state.delivery.hub.unregister(client)


async def _stream(websocket: WebSocket, client: HubClient) -> Close | None:
    """Run the send and receive sides until one ends; the close to send, if any."""
    limits = websocket.app.state.settings.hub
    sender = asyncio.create_task(_send_loop(websocket, client, limits.ws_heartbeat_seconds))
    receiver = asyncio.create_task(_receive_loop(websocket, limits))
    resync = asyncio.create_task(client.resync.wait())
    tasks = {sender, receiver, resync}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
    if resync in done:
        return RESYNC
    if receiver in done and not receiver.cancelled() and receiver.exception() is None:
        return receiver.result()
    return None  # the peer disconnected (or a send failed): nothing to close


async def _send_loop(websocket: WebSocket, client: HubClient, heartbeat: float) -> None:
    while True:
        try:
            async with asyncio.timeout(heartbeat):
                seq, wire = await client.queue.get()
        except TimeoutError:
            await websocket.send_text(json.dumps({"type": "ping", "seq": client.last_seq}))
            continue
        if seq <= client.last_seq:
            continue  # already in the snapshot/replay (or a duplicate from the bus)
        client.last_seq = seq
        await websocket.send_text(wire)


async def _receive_loop(websocket: WebSocket, limits: Any) -> Close | None:
    """Read client messages (pongs) under size and rate limits; the close to send on violation."""
    rate, tokens, stamp = limits.ws_client_rate_per_second, limits.ws_client_rate_per_second, time.monotonic()
    while True:
        message, close = await _receive_json(websocket, limits.ws_max_message_bytes)
        if message is None:
            return close
        now = time.monotonic()
        tokens, stamp = min(rate, tokens + (now - stamp) * rate), now  # token bucket: burst = 1 s worth
        if tokens < 1:
            return 1008, "too many messages"
        tokens -= 1
        # {"type": "pong"} and anything else well-formed is accepted and ignored:
        # newer clients may send messages this server does not know yet.


async def _receive_json(websocket: WebSocket, max_bytes: int) -> tuple[dict[str, Any] | None, Close | None]:
    """One client message as a dict; or (None, close) for a violation, (None, None) on disconnect."""
    frame = await websocket.receive()
    if frame["type"] == "websocket.disconnect":
        return None, None
    data = frame.get("text")
    raw = data.encode() if data is not None else frame.get("bytes") or b""
    if len(raw) > max_bytes:
        return None, (1009, "message too big")
    try:
        message = json.loads(raw)
    except ValueError:
        return None, (1008, "messages must be JSON objects")
    if not isinstance(message, dict):
        return None, (1008, "messages must be JSON objects")
    return message, None


async def _authenticate(websocket: WebSocket) -> tuple[Principal, int | None] | None:
    """Wait for the auth message and redeem its ticket; close and return None on failure."""
    state = websocket.app.state
    try:
        async with asyncio.timeout(state.settings.hub.ws_auth_timeout_seconds):
            message, close = await _receive_json(websocket, state.settings.hub.ws_max_message_bytes)
    except TimeoutError:
        message, close = None, (1008, "auth timeout")
    if message is None:
        await _close(websocket, close)
        return None
    ticket, last_seq = message.get("ticket"), message.get("last_seq")
    if (message.get("type") != "auth" or not isinstance(ticket, str)
            or not (last_seq is None or (type(last_seq) is int and last_seq >= 0))):
        await _close(websocket, (1008, 'first message must be {"type":"auth","ticket":…,"last_seq":N|null}'))
        return None
    context = RequestContext(principal=None, request_id=websocket.scope.get("state", {}).get("request_id"),
                             source_addr=websocket.client.host if websocket.client else None)
    principal = await asyncio.to_thread(_redeem, state, ticket, last_seq, context)
    if principal is None:
        await _close(websocket, (1008, "invalid or expired ticket"))
        return None
    return principal, last_seq


def _redeem(state: Any, ticket: str, last_seq: int | None, context: RequestContext) -> Principal | None:
    """Use the ticket and audit the connection (one row per connection), in one transaction."""
    with state.session_factory() as db:
        user_id = redeem_ticket(db, ticket=ticket, now=state.clock.now())
        principal = load_principal(db, user_id) if user_id is not None else None
        if principal is None or principal.role not in STAFF_READERS:
            state.audit.record(db, context, action="alerts.stream", object_type="user", object_id=user_id,
                               outcome="denied", detail={"reason": "invalid, expired or used ticket"})
            db.commit()
            return None
        context = RequestContext(principal=principal, request_id=context.request_id, source_addr=context.source_addr)
        state.audit.record(db, context, action="alerts.stream", object_type="user", object_id=principal.user_id,
                           detail={"last_seq": last_seq})
        db.commit()
        return principal


def _initial(state: Any, principal: Principal, last_seq: int | None) -> tuple[list[dict[str, Any]], int]:
    limits = state.settings.hub
    with state.session_factory() as db:
        return initial_messages(db, principal, last_seq, replay_limit=limits.ws_replay_limit,
                                snapshot_limit=limits.ws_snapshot_limit)


async def _close(websocket: WebSocket, close: Close | None) -> None:
    if close is None or websocket.application_state != WebSocketState.CONNECTED:
        return
    try:
        # Bounded: a client that stopped reading must not pin this task.
        async with asyncio.timeout(5):
            await websocket.close(code=close[0], reason=close[1])
    except (TimeoutError, WebSocketDisconnect, OSError, RuntimeError):
        pass
