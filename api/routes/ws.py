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
   deactivated or moved, or the session reached the access-token lifetime:
   fetch a new ticket, reconnect with ``last_seq``), 1008 (origin, ticket, rate
   or protocol), 1009 (message too big), 1013 (server not ready: retry).
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, WebSocket
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect, WebSocketState

from alerts.hub import REAUTH, RESYNC, HubClient, initial_messages
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
    # A ticket is traded for a bearer token, so a socket must not outlive one:
    # past this the client re-authenticates (and resumes with last_seq).
    session_end = state.clock.now() + timedelta(minutes=state.settings.auth.access_token_minutes)
    try:
        client = await state.delivery.hub.register(principal, queue_cap=limits.ws_queue_cap)
    except TimeoutError:
        await _close(websocket, (1013, "alert bus unavailable, retry"))
        return
    try:
        messages, covered = await asyncio.to_thread(_initial, state, principal, last_seq)
        client.start_at(covered)
        for message in messages:
            await websocket.send_text(json.dumps(message, ensure_ascii=False, separators=(",", ":")))
        await _close(websocket, await _stream(websocket, client, session_end))
    finally:
        state.delivery.hub.unregister(client)


async def _stream(websocket: WebSocket, client: HubClient, session_end: datetime) -> Close | None:
    """Run the send and receive sides until one ends; the close to send, if any."""
    state = websocket.app.state
    limits = state.settings.hub
    sender = asyncio.create_task(_send_loop(websocket, client, limits.ws_heartbeat_seconds))
    receiver = asyncio.create_task(_receive_loop(websocket, limits))
    resync = asyncio.create_task(client.resync.wait())
    watcher = asyncio.create_task(_watch_principal(state, client.principal, session_end))
    tasks = {sender, receiver, resync, watcher}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
    # Checked on the flag, not on ``done``: the sender sets it and returns, and may
    # finish before the resync waiter has run.
    if client.resync.is_set():
        return RESYNC
    for task in (watcher, receiver):
        if task in done and not task.cancelled() and task.exception() is None:
            return task.result()
    return None  # the peer disconnected (or a send failed): nothing to close


async def _send_loop(websocket: WebSocket, client: HubClient, heartbeat: float) -> None:
    while True:
        try:
            async with asyncio.timeout(heartbeat):
                seq, wire = await client.queue.get()
        except TimeoutError:
            await websocket.send_text(json.dumps({"type": "ping", "seq": client.last_seq}))
            continue
        verdict = client.verdict(seq)
        if verdict == "repeat":
            continue  # already in the snapshot/replay, or already sent
        if verdict == "gap":
            # Published after a higher seq this socket already sent (a relay leader
            # that lost its lock mid-publish). Sending it out of order would break
            # "seq only increases"; dropping it would lose it. The client resumes
            # from below it instead.
            log.warning("alert socket: seq %s arrived after %s; closing with resync", seq, client.last_seq)
            await websocket.send_text(json.dumps({"type": "resync", "seq": seq - 1}))
            client.resync.set()
            return
        client.sent(seq)
        await websocket.send_text(wire)


async def _watch_principal(state: Any, principal: Principal, session_end: datetime) -> Close:
    """Return REAUTH once the session ends or the user is no longer who the ticket said.

    Scope is decided on the principal loaded when the ticket was redeemed; a
    deactivated or moved officer must not keep receiving their old office's
    alerts for as long as the socket stays open. A failed check (database down)
    keeps the socket: the session cap still bounds it, and it needs no database.
    """
    interval = state.settings.hub.ws_recheck_seconds
    while True:
        left = (session_end - state.clock.now()).total_seconds()
        if left <= 0:
            return REAUTH
        await asyncio.sleep(min(interval, left))
        if state.clock.now() >= session_end:
            return REAUTH
        try:
            fresh = await asyncio.to_thread(_reload, state, principal.user_id)
        except Exception as exc:  # noqa: BLE001 - see above
            log.warning("alert socket: re-checking user %s failed (%s); next try in %.0fs",
                        principal.user_id, exc, interval)
            continue
        # Any change (inactive: None; role, jurisdiction or its path): scope may differ.
        if fresh != principal:
            return REAUTH


def _reload(state: Any, user_id: int) -> Principal | None:
    with state.session_factory() as db:
        return load_principal(db, user_id)


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
