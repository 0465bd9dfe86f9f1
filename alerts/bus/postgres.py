"""Postgres LISTEN/NOTIFY bus: needs nothing beyond the database we already run.

Two connections, both autocommit:
- publish: ``SELECT pg_notify(channel, payload)``. Autocommit makes each NOTIFY its
  own transaction, so it is delivered at once and never merged: within one
  transaction Postgres drops duplicate (channel, payload) pairs.
- listen: owned by one background task (``_Listener``). psycopg's ``notifies()``
  holds the connection lock while it waits, so LISTEN/UNLISTEN cannot simply be
  executed from another task; instead subscribers queue a command and the owner
  task pauses the wait, runs it, and confirms. If the connection drops, the task
  reconnects with backoff and re-LISTENs every channel in use. Notifications sent
  while it was down are lost, so every open subscription is ended with
  BusDisconnectedError at that moment: never a silent gap, the consumer
  resubscribes (waiting for the reconnect) and resyncs from the database.

Bus channel "alerts.x" maps to the Postgres channel "zj.alerts.x": the prefix keeps
us apart from other LISTEN users, and passing it through psycopg.sql.Identifier
(LISTEN) or as a bound parameter (pg_notify) means no string is ever spliced into SQL.
"""
from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable

import psycopg
from psycopg import sql

from core.db import is_database_outage

from .base import Bus, BusDisconnectedError, Fanout, Subscription

log = logging.getLogger(__name__)

_PREFIX = "zj."  # 3 + 60 channel chars = 63, Postgres's identifier limit
_CONNECT_KWARGS = {
    "autocommit": True,
    # Lets an operator spot (and a test terminate) the bus's sessions.
    "application_name": "zhijiao-bus",
    # Without keepalives a silently dead listener (NAT timeout, failover) would
    # wait in notifies() forever instead of raising and reconnecting.
    "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
}

Connect = Callable[[], Awaitable[psycopg.AsyncConnection]]


class PostgresBus(Bus):
    """Bus over LISTEN/NOTIFY on any database the URL points at."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self._fanout = Fanout()
        self._pub: psycopg.AsyncConnection | None = None
        self._pub_lock = asyncio.Lock()
        self._listener = _Listener(self._open, self._on_notify, self._on_lost)

    async def _open(self) -> psycopg.AsyncConnection:
        return await psycopg.AsyncConnection.connect(self._url, **_CONNECT_KWARGS)

    async def _connect(self) -> None:
        self._pub = await self._open()
        await self._listener.start()  # first connection errors surface here, at startup

    async def _close(self) -> None:
        await self._listener.stop()
        self._fanout.end_all()
        if self._pub is not None:
            await self._pub.close()

    async def _publish(self, channel: str, data: bytes) -> None:
        async with self._pub_lock:
            if self._pub is None or self._pub.closed:
                # Reconnect lazily: the publish that hit the broken connection already
                # raised to its caller (the outbox relay retries), this one can proceed.
                self._pub = await self._open()
            await self._pub.execute("SELECT pg_notify(%s, %s)", (_PREFIX + channel, data.decode()))

    async def _attach(self, sub: Subscription) -> None:
        self._fanout.add(sub)
        try:
            await self._listener.change(_PREFIX + sub.channel, +1)
        except BaseException:  # cancelled or closed while waiting: undo
            await self._detach(sub)
            raise

    async def _detach(self, sub: Subscription) -> None:
        self._fanout.remove(sub)
        # Not awaited: leaving a subscription must not hang on a reconnecting listener.
        self._listener.change_nowait(_PREFIX + sub.channel, -1)

    def _on_notify(self, notify: psycopg.Notify) -> None:
        if not notify.channel.startswith(_PREFIX):
            return
        try:
            self._fanout.dispatch(notify.channel[len(_PREFIX):], notify.payload)
        except ValueError:  # someone else NOTIFYing junk on our channel
            log.warning("dropping non-JSON notification on %s: %.100r", notify.channel, notify.payload)


    def _on_lost(self, exc: BaseException) -> None:
        self._fanout.end_all(BusDisconnectedError(
            f"postgres bus listener lost its connection ({exc}); messages may have been missed"
        ))


class _Listener:
    """Owns the LISTEN connection; other tasks only queue (channel, delta) commands."""

    def __init__(
        self,
        connect: Connect,
        on_notify: Callable[[psycopg.Notify], None],
        on_lost: Callable[[BaseException], None],
    ) -> None:
        self._connect, self._on_notify, self._on_lost = connect, on_notify, on_lost
        self._refs: collections.Counter[str] = collections.Counter()
        self._commands: collections.deque[tuple[str, int, asyncio.Future[None]]] = collections.deque()
        self._wakeup = asyncio.Event()
        self._unconfirmed: list[asyncio.Future[None]] = []  # applied, awaiting a live LISTEN
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        conn = await self._connect()
        self._task = asyncio.create_task(self._run(conn), name="zhijiao-bus-pg-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})
        # A subscribe racing with close() gets a clear error, not a bare CancelledError.
        for fut in [f for *_, f in self._commands] + self._unconfirmed:
            if not fut.done():
                fut.set_exception(RuntimeError("bus is closed"))
                fut.exception()  # mark retrieved: nobody may be awaiting it

    async def change(self, channel: str, delta: int) -> None:
        """Adjust the channel's subscriber count; return once LISTEN is in effect."""
        await self.change_nowait(channel, delta)

    def change_nowait(self, channel: str, delta: int) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._commands.append((channel, delta, fut))
        self._wakeup.set()
        return fut

    async def _run(self, conn: psycopg.AsyncConnection | None) -> None:
        delay = 0.1
        while True:
            connected = False
            try:
                conn = conn or await self._connect()
                async with conn:
                    for channel in self._refs:  # after a reconnect
                        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    self._confirm()
                    connected, delay = True, 0.1
                    await self._serve(conn)
            except Exception as exc:  # never let the task die: subscribers would hang silently
                log.warning("bus listener lost its connection (%s); reconnecting in %.1fs",
                            exc, delay, exc_info=not is_database_outage(exc))
                if connected:  # failed reconnect attempts have no subscribers to warn
                    self._on_lost(exc)
            conn = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _serve(self, conn: psycopg.AsyncConnection) -> None:
        """Alternate between waiting for notifications and applying queued commands."""
        while True:
            await self._apply(conn)
            if not self._commands:
                self._wakeup.clear()
            pump = asyncio.create_task(self._pump(conn))
            waker = asyncio.create_task(self._wakeup.wait())
            try:
                await asyncio.wait({pump, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                # Cancelling notifies() while it waits on the socket is safe: the
                # connection is idle, so psycopg has nothing half-read to lose.
                pump.cancel()
                waker.cancel()
                await asyncio.wait({pump, waker})
            if not pump.cancelled() and (exc := pump.exception()) is not None:
                raise exc

    async def _pump(self, conn: psycopg.AsyncConnection) -> None:
        async for notify in conn.notifies():
            self._on_notify(notify)
        raise psycopg.OperationalError("listener connection ended")

    async def _apply(self, conn: psycopg.AsyncConnection) -> None:
        if self._commands:
            # Read what has already arrived first (timeout=0 polls the socket once):
            # under constant subscribe churn the pump can be cancelled before it
            # ever reads, which would starve delivery.
            async for notify in conn.notifies(timeout=0):
                self._on_notify(notify)
        # Only the commands queued so far: new ones arriving meanwhile wait for the
        # next round, so churn cannot keep us here forever.
        for _ in range(len(self._commands)):
            channel, delta, fut = self._commands.popleft()
            # Count first, so if the connection drops mid-command the reconnect
            # re-LISTENs (or skips) the channel and then confirms this command.
            before = self._refs[channel]
            self._refs[channel] += delta
            if self._refs[channel] <= 0:
                del self._refs[channel]
            self._unconfirmed.append(fut)
            ident = sql.Identifier(channel)
            if before == 0 and delta > 0:
                await conn.execute(sql.SQL("LISTEN {}").format(ident))
            elif channel not in self._refs:
                await conn.execute(sql.SQL("UNLISTEN {}").format(ident))
            self._confirm()

    def _confirm(self) -> None:
        for fut in self._unconfirmed:
            if not fut.done():
                fut.set_result(None)
        self._unconfirmed.clear()
