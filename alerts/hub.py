"""The websocket hub of one server process: subscribes to the bus and forwards.

The hub only subscribes, filters by scope and forwards (Tile38: detection and
delivery are separate pieces). One bus subscription per process feeds every
socket; each socket has its own bounded queue, so a slow client only ever
fills its own queue and is then cut off with close code 4000 "resync" (it
reconnects with its last seq and replays from the database) instead of
slowing the others or growing memory without bound.

Whether a socket may see a live event is decided by ``alerts.scope``
(``alert_path_visible``, built on ``supervision.scope.office_scope``); the
snapshot and replay before it, and the socket's whole protocol, are
alerts/session.py's.
"""
from __future__ import annotations

import asyncio
import json
import logging
from array import array
from bisect import bisect_left
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Engine

from alerts.bus import Bus, bus_from_url
from alerts.relay import BATCH_SIZE, BUS_CHANNEL, OutboxRelay
from alerts.scope import alert_path_visible
from alerts.wire import client_event
from core.clock import Clock
from core.principal import Principal
from core.settings import Settings

log = logging.getLogger(__name__)

RESYNC = (4000, "resync")
# The user was deactivated, moved or changed role, or the session outlived an
# access token: the client fetches a new ticket and resumes with its last seq.
REAUTH = (4001, "reauthenticate")
# How many recently sent seqs a socket remembers (at least) to tell a repeat (a
# re-published event, or the old leader's late copy) from an event it never sent.
# A new leader re-publishes at most a batch; anything older counts as never sent
# (a needless resync at worst, never a loss).
SENT_WINDOW = 2 * BATCH_SIZE

Verdict = Literal["send", "repeat", "gap"]


@dataclass(eq=False)
class HubClient:
    """The outbound side of one authenticated socket."""

    principal: Principal
    queue: asyncio.Queue[tuple[int, str]]
    # Set when the socket must be closed with "resync": its queue overflowed, or
    # the hub lost its bus subscription (events may have been missed).
    resync: asyncio.Event = field(default_factory=asyncio.Event)
    last_seq: int = 0  # highest seq already sent (or covered by the snapshot/replay)
    covered_seq: int = 0  # every event up to here was in the snapshot/replay
    # Recently sent seqs, ascending (sends only ever increase): 8 bytes each, not a set of ints.
    _sent: array[int] = field(default_factory=lambda: array("q"))

    def start_at(self, seq: int) -> None:
        """The snapshot/replay covered everything up to ``seq``."""
        self.last_seq = self.covered_seq = seq

    def verdict(self, seq: int) -> Verdict:
        """Whether to send a live event: "send" (new), "repeat" (drop), "gap" (close with resync).

        Live seqs normally only increase. One at or below ``last_seq`` is a repeat
        if this socket sent it or the snapshot/replay covered it; otherwise it
        was published late (a relay leader that lost its lock mid-publish) and
        dropping it would lose it without a trace: the client must resync.
        """
        if seq > self.last_seq:
            return "send"
        if seq <= self.covered_seq:
            return "repeat"
        i = bisect_left(self._sent, seq)
        return "repeat" if i < len(self._sent) and self._sent[i] == seq else "gap"

    def sent(self, seq: int) -> None:
        self.last_seq = seq
        self._sent.append(seq)
        if len(self._sent) > 2 * SENT_WINDOW:
            del self._sent[:SENT_WINDOW]  # amortised: one shift per SENT_WINDOW sends

    def offer(self, seq: int, wire: str) -> None:
        if self.resync.is_set():
            return
        try:
            self.queue.put_nowait((seq, wire))
        except asyncio.QueueFull:
            self.resync.set()


class AlertHub:
    """Routes bus events to the sockets whose scope contains the event's office."""

    def __init__(self, bus: Bus, *, channel: str = BUS_CHANNEL) -> None:
        self._bus, self._channel = bus, channel
        # Sockets grouped by (role, jurisdiction path): ``alert_path_visible``
        # depends on nothing else, so each event is checked once per group, not
        # once per socket.
        self._groups: dict[tuple[str, str], set[HubClient]] = {}
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._pump(), name="zhijiao-alert-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})
            self._task = None
        self._resync_all()

    async def register(self, principal: Principal, *, queue_cap: int, timeout: float = 5.0) -> HubClient:
        """Add a socket. Call *before* reading the snapshot/replay: events committed
        meanwhile then arrive both ways and the sender drops those at or below the
        snapshot's seq, so none is missed and none sent twice."""
        async with asyncio.timeout(timeout):  # TimeoutError: the bus is down, tell the client to retry
            await self._ready.wait()
        client = HubClient(principal=principal, queue=asyncio.Queue(maxsize=queue_cap))
        self._groups.setdefault((principal.role, principal.jurisdiction_path), set()).add(client)
        return client

    def unregister(self, client: HubClient) -> None:
        key = (client.principal.role, client.principal.jurisdiction_path)
        group = self._groups.get(key)
        if group is not None:
            group.discard(client)
            if not group:
                del self._groups[key]

    def dispatch(self, message: dict[str, Any]) -> None:
        """Offer one bus message to every socket entitled to it."""
        path, seq, wire = message.get("office_path") or "", message["seq"], None
        for group in self._groups.values():
            first = next(iter(group))
            if not alert_path_visible(first.principal, path):
                continue
            if wire is None:  # serialise once per event, not once per socket
                wire = json.dumps(client_event(message), ensure_ascii=False, separators=(",", ":"))
            for client in group:
                client.offer(seq, wire)

    async def _pump(self) -> None:
        delay = 0.1
        while True:
            try:
                async with self._bus.subscribe(self._channel) as messages:
                    self._ready.set()
                    delay = 0.1
                    async for message in messages:
                        try:
                            self.dispatch(message)
                        except (KeyError, TypeError):
                            log.warning("alert hub: ignoring malformed bus message %.200r", message)
                    log.warning("alert hub: bus subscription ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # BusOverflowError, lost connection...
                log.warning("alert hub: bus subscription failed (%s); resubscribing in %.1fs", exc, delay)
            finally:
                self._ready.clear()
                # Events may have been lost while unsubscribed: every socket resyncs
                # from the database rather than silently missing them.
                self._resync_all()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _resync_all(self) -> None:
        for group in self._groups.values():
            for client in group:
                client.resync.set()


@dataclass
class Delivery:
    hub: AlertHub
    relay: OutboxRelay | None
    bus: Bus


@asynccontextmanager
async def run_delivery(*, settings: Settings, engine: Engine, clock: Clock) -> AsyncIterator[Delivery]:
    """Bus + hub + relay candidate for one server process (the app lifespan)."""
    bus = bus_from_url(settings.api.bus_url)
    await bus.connect()  # fail fast at startup on a wrong bus URL
    channel = settings.hub.bus_channel
    hub = AlertHub(bus, channel=channel)
    relay = OutboxRelay(engine=engine, bus=bus, clock=clock, channel=channel) if settings.hub.relay_enabled else None
    await hub.start()
    if relay is not None:
        await relay.start()
    try:
        yield Delivery(hub=hub, relay=relay, bus=bus)
    finally:
        if relay is not None:
            await relay.stop()
        await hub.stop()
        await bus.close()
