"""One live alert socket, whatever carries it: authenticate, snapshot or replay, stream.

The protocol (JSON text frames) is documented in api/routes/ws.py, its first
adapter; a web console will be the second. This module owns every step of it:

1. wait (bounded) for ``{"type": "auth", "ticket", "last_seq"}`` and redeem
   the one-time ticket (audited, one row per connection);
2. register with the hub *before* reading the database, then send the
   snapshot or the replay from ``last_seq`` (see ``initial_messages``);
3. run the send loop (live events, never one twice, a ping every heartbeat),
   the receive loop (size and rate limits) and the re-check of the user, until
   one of them ends; then close with the code it calls for.

A transport only moves frames (``Transport``); the services it needs are
passed in (``SocketServices``), so nothing here knows Starlette or the app.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.hub import REAUTH, RESYNC, AlertHub, HubClient
from alerts.models import Alert, AlertEvent
from alerts.scope import alert_clause, alert_event_clause
from alerts.tickets import redeem_ticket
from alerts.wire import alert_summary, replayed_event
from core.audit import AuditLog
from core.clock import Clock
from core.principal import Principal, RequestContext
from core.settings import Settings
from supervision.scope import STAFF_READERS

log = logging.getLogger(__name__)

Close = tuple[int, str]


class Transport(Protocol):
    """What a socket session needs from the connection that carries it."""

    async def send_text(self, data: str) -> None:
        """Send one text frame."""

    async def receive(self) -> str | bytes | None:
        """The next client frame; None once the peer has disconnected."""

    async def close(self, code: int, reason: str) -> None:
        """Close the connection, if it is still open, without waiting on the peer for long."""


@dataclass(frozen=True)
class SocketServices:
    """What a session uses of the server process."""

    settings: Settings
    clock: Clock
    session_factory: Callable[[], Session]
    audit: AuditLog
    hub: AlertHub
    # The api's loader (active users only): one definition of "who this user is now".
    load_principal: Callable[[Session, int], Principal | None]


async def serve_socket(transport: Transport, services: SocketServices, context: RequestContext) -> None:
    """Run one socket session from the auth message to the close."""
    authed = await _authenticate(transport, services, context)
    if authed is None:
        return
    principal, last_seq, token_expires_at = authed
    # A ticket is traded for a bearer token, so a socket must not outlive it: it
    # ends when that token expires (and never later than one token lifetime);
    # past this the client re-authenticates (and resumes with last_seq).
    session_end = services.clock.now() + timedelta(minutes=services.settings.auth.access_token_minutes)
    if token_expires_at is not None:
        session_end = min(session_end, token_expires_at)
    try:
        client = await services.hub.register(principal, queue_cap=services.settings.hub.ws_queue_cap)
    except TimeoutError:
        await transport.close(1013, "alert bus unavailable, retry")
        return
    try:
        messages, covered = await asyncio.to_thread(_initial, services, principal, last_seq)
        client.start_at(covered)
        for message in messages:
            await transport.send_text(json.dumps(message, ensure_ascii=False, separators=(",", ":")))
        close = await _stream(transport, services, client, session_end)
        if close is not None:
            await transport.close(*close)
    finally:
        services.hub.unregister(client)


async def _stream(transport: Transport, services: SocketServices, client: HubClient,
                  session_end: datetime) -> Close | None:
    """Run the send and receive sides until one ends; the close to send, if any."""
    limits = services.settings.hub
    sender = asyncio.create_task(_send_loop(transport, client, limits.ws_heartbeat_seconds))
    receiver = asyncio.create_task(_receive_loop(transport, limits))
    resync = asyncio.create_task(client.resync.wait())
    watcher = asyncio.create_task(_watch_principal(services, client.principal, session_end))
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


async def _send_loop(transport: Transport, client: HubClient, heartbeat: float) -> None:
    while True:
        try:
            async with asyncio.timeout(heartbeat):
                seq, wire = await client.queue.get()
        except TimeoutError:
            await transport.send_text(json.dumps({"type": "ping", "seq": client.last_seq}))
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
            await transport.send_text(json.dumps({"type": "resync", "seq": seq - 1}))
            client.resync.set()
            return
        client.sent(seq)
        await transport.send_text(wire)


async def _watch_principal(services: SocketServices, principal: Principal, session_end: datetime) -> Close:
    """Return REAUTH once the session ends or the user is no longer who the ticket said.

    Scope is decided on the principal loaded when the ticket was redeemed; a
    deactivated or moved officer must not keep receiving their old office's
    alerts for as long as the socket stays open. A failed check (database down)
    keeps the socket: the session cap still bounds it, and it needs no database.
    """
    clock, interval = services.clock, services.settings.hub.ws_recheck_seconds
    while True:
        left = (session_end - clock.now()).total_seconds()
        if left <= 0:
            return REAUTH
        await asyncio.sleep(min(interval, left))
        if clock.now() >= session_end:
            return REAUTH
        try:
            fresh = await asyncio.to_thread(_reload, services, principal.user_id)
        except Exception as exc:  # noqa: BLE001 - see above
            log.warning("alert socket: re-checking user %s failed (%s); next try in %.0fs",
                        principal.user_id, exc, interval)
            continue
        # Any change (inactive: None; role, jurisdiction or its path): scope may differ.
        if fresh != principal:
            return REAUTH


def _reload(services: SocketServices, user_id: int) -> Principal | None:
    with services.session_factory() as db:
        return services.load_principal(db, user_id)


async def _receive_loop(transport: Transport, limits: Any) -> Close | None:
    """Read client messages (pongs) under size and rate limits; the close to send on violation."""
    rate, tokens, stamp = limits.ws_client_rate_per_second, limits.ws_client_rate_per_second, time.monotonic()
    while True:
        message, close = await _receive_json(transport, limits.ws_max_message_bytes)
        if message is None:
            return close
        now = time.monotonic()
        tokens, stamp = min(rate, tokens + (now - stamp) * rate), now  # token bucket: burst = 1 s worth
        if tokens < 1:
            return 1008, "too many messages"
        tokens -= 1
        # {"type": "pong"} and anything else well-formed is accepted and ignored:
        # newer clients may send messages this server does not know yet.


async def _receive_json(transport: Transport, max_bytes: int) -> tuple[dict[str, Any] | None, Close | None]:
    """One client message as a dict; or (None, close) for a violation, (None, None) on disconnect."""
    data = await transport.receive()
    if data is None:
        return None, None
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > max_bytes:
        return None, (1009, "message too big")
    try:
        message = json.loads(raw)
    except ValueError:
        return None, (1008, "messages must be JSON objects")
    if not isinstance(message, dict):
        return None, (1008, "messages must be JSON objects")
    return message, None


async def _authenticate(transport: Transport, services: SocketServices,
                        context: RequestContext) -> tuple[Principal, int | None, datetime | None] | None:
    """Wait for the auth message and redeem its ticket; close and return None on failure."""
    limits = services.settings.hub
    try:
        async with asyncio.timeout(limits.ws_auth_timeout_seconds):
            message, close = await _receive_json(transport, limits.ws_max_message_bytes)
    except TimeoutError:
        message, close = None, (1008, "auth timeout")
    if message is None:
        if close is not None:
            await transport.close(*close)
        return None
    ticket, last_seq = message.get("ticket"), message.get("last_seq")
    if (message.get("type") != "auth" or not isinstance(ticket, str)
            or not (last_seq is None or (type(last_seq) is int and last_seq >= 0))):
        await transport.close(1008, 'first message must be {"type":"auth","ticket":…,"last_seq":N|null}')
        return None
    redeemed = await asyncio.to_thread(_redeem, services, ticket, last_seq, context)
    if redeemed is None:
        await transport.close(1008, "invalid or expired ticket")
        return None
    principal, session_ends_at = redeemed
    return principal, last_seq, session_ends_at


def _redeem(services: SocketServices, ticket: str, last_seq: int | None,
            context: RequestContext) -> tuple[Principal, datetime | None] | None:
    """Use the ticket and audit the connection (one row per connection), in one transaction;
    the user and when the bearer token behind the ticket expires."""
    with services.session_factory() as db:
        redeemed = redeem_ticket(db, ticket=ticket, now=services.clock.now())
        user_id = redeemed.user_id if redeemed is not None else None
        principal = services.load_principal(db, user_id) if user_id is not None else None
        if principal is not None and redeemed.token_version not in (None, principal.token_version):
            principal = None  # the user's sessions were revoked since the ticket was bought
        if principal is None or principal.role not in STAFF_READERS:
            services.audit.record(db, context, action="alerts.stream", object_type="user", object_id=user_id,
                                  outcome="denied", detail={"reason": "invalid, expired or used ticket"})
            db.commit()
            return None
        context = RequestContext(principal=principal, request_id=context.request_id, source_addr=context.source_addr)
        services.audit.record(db, context, action="alerts.stream", object_type="user", object_id=principal.user_id,
                              detail={"last_seq": last_seq})
        db.commit()
        return principal, redeemed.session_ends_at


def _initial(services: SocketServices, principal: Principal, last_seq: int | None) -> tuple[list[dict[str, Any]], int]:
    limits = services.settings.hub
    with services.session_factory() as db:
        return initial_messages(db, principal, last_seq, replay_limit=limits.ws_replay_limit,
                                snapshot_limit=limits.ws_snapshot_limit)


def initial_messages(db: Session, principal: Principal, last_seq: int | None, *, replay_limit: int,
                     snapshot_limit: int) -> tuple[list[dict[str, Any]], int]:
    """What a socket gets before live events, and the seq that covers.

    Without ``last_seq``: a snapshot of the open alerts in scope. With it: the
    events in scope after ``last_seq`` (Zulip-style resume), then a "resumed"
    marker. Replaying events on top of a snapshot could move a client's view of
    an alert backwards, so a resume gets no snapshot, unless the gap is too large
    to replay or ``last_seq`` is not one this database issued (a snapshot
    marked ``resync`` instead).

    One REPEATABLE READ transaction: the max seq and the rows are read from the
    same snapshot, and seqs only become visible in increasing order (one relay
    leader), so every event up to that seq is in what we read.
    """
    db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    top = db.scalar(select(func.max(AlertEvent.seq))) or 0
    if last_seq is not None and 0 <= last_seq <= top:
        events = db.scalars(
            select(AlertEvent).where(AlertEvent.seq > last_seq, AlertEvent.seq <= top, alert_event_clause(principal))
            .order_by(AlertEvent.seq).limit(replay_limit + 1)
        ).all()
        if len(events) <= replay_limit:
            replay = [replayed_event(e) for e in events]
            return [*replay, {"type": "resumed", "from_seq": last_seq, "seq": top, "count": len(replay)}], top
    alerts = db.scalars(
        select(Alert).where(alert_clause(principal), Alert.state != "resolved")
        .order_by(Alert.id.desc()).limit(snapshot_limit + 1)
    ).all()
    snapshot = {"type": "snapshot", "seq": top, "alerts": [alert_summary(a) for a in alerts[:snapshot_limit]],
                "truncated": len(alerts) > snapshot_limit, "resync": last_seq is not None}
    return [snapshot], top
