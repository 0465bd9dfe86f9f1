"""The outbox relay: publishes committed alert events to the bus, in order.

Producers write ``alert_events`` rows in their own transaction (alerts/outbox.py);
nothing is published before that commits (Zulip: events after commit). The relay
then, in one short transaction, picks the unstamped rows in ``id`` order, stamps
each with ``seq`` from the ``alert_event_seq`` sequence, hands them to the webhook
outbox, commits, and publishes them to the bus channel ``alerts``; only once the
bus has accepted a batch does it set ``published_at``. Clients resume from the
last ``seq`` they saw.

Why "stamped" and "published" are separate: a leader can die between its commit
and the publish. Its events then have a ``seq`` (so a new leader would never
stamp them again) but reached no socket. Each round, and so first thing on
taking over, the leader re-publishes the stamped-but-unpublished rows in ``seq``
order before stamping anything new. That is at least once: a socket drops a
repeated ``seq`` (alerts/session.py), the webhook outbox de-duplicates by event.

Why ``seq`` is stamped here and not at insert: ids are handed out at insert but
become visible at commit, in another order. A client that saw id 11 could miss id
10 committing a moment later. Stamped by one writer after commit, ``seq`` only ever
becomes visible in increasing order, so "everything with seq > N" is complete.

That needs exactly one stamping writer per database, and batches that commit one
after another: every process runs a relay candidate; the leader holds a session
advisory lock, and stamps on the *same* connection that holds the lock. If that
connection dies, its open batch dies with it, before a new leader (standbys retry
every second) can stamp anything, so two leaders' batches can never interleave.

Wake-up: the ``alert_events`` insert trigger NOTIFYs ``zhijiao_outbox``, which
Postgres delivers at commit; a 1 s poll covers a missed notification.
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.orm import Session

from alerts.bus import Bus
from alerts.models import AlertEvent
from alerts.webhooks import enqueue_webhooks
from alerts.wire import bus_message
from core.clock import Clock
from core.db import database_outage_reason, is_database_outage, log_failure
from supervision.models import Jurisdiction

log = logging.getLogger(__name__)

RELAY_LOCK_ID = 0x7A6A_5245  # "zjRE": one relay leader per database
OUTBOX_CHANNEL = "zhijiao_outbox"  # NOTIFY channel of the insert trigger (migration 0002)
BUS_CHANNEL = "alerts"  # default; settings.hub.bus_channel
BATCH_SIZE = 500

T = TypeVar("T")


def stamp_batch(db: Session, *, limit: int = BATCH_SIZE) -> list[dict[str, Any]]:
    """Stamp up to ``limit`` unstamped events with seq, in id order; return their bus messages.

    Runs in the caller's transaction; the caller commits, publishes, then calls
    ``mark_published``. Until then the rows are "stamped, not published" and
    ``unpublished_batch`` hands them to whichever leader runs next.
    """
    events = db.scalars(
        select(AlertEvent).where(AlertEvent.seq.is_(None)).order_by(AlertEvent.id)
        .limit(limit).with_for_update(skip_locked=True)
    ).all()
    if not events:
        return []
    # One session hands out increasing values; sorting them and pairing with ids
    # in order does not depend on how Postgres evaluates nextval() in an UPDATE.
    seqs = sorted(db.scalars(text("SELECT nextval('alert_event_seq') FROM generate_series(1, :n)"),
                             {"n": len(events)}))
    for event, seq in zip(events, seqs, strict=True):
        event.seq = seq
    db.flush()
    _enqueue_webhooks(db, events)
    return _messages(db, events)


def unpublished_batch(db: Session, *, limit: int = BATCH_SIZE) -> list[dict[str, Any]]:
    """Bus messages of up to ``limit`` events stamped but not yet published, in seq order.

    Their webhook deliveries were queued when they were stamped (same transaction).
    """
    events = db.scalars(
        select(AlertEvent).where(AlertEvent.seq.is_not(None), AlertEvent.published_at.is_(None))
        .order_by(AlertEvent.seq).limit(limit)
    ).all()
    return _messages(db, list(events))


def mark_published(db: Session, seqs: list[int], *, now: datetime) -> None:
    """Record that the bus accepted these events; the caller commits."""
    if seqs:
        db.execute(update(AlertEvent).where(AlertEvent.seq.in_(seqs), AlertEvent.published_at.is_(None))
                   .values(published_at=now))


def _messages(db: Session, events: list[AlertEvent]) -> list[dict[str, Any]]:
    if not events:
        return []
    paths = dict(db.execute(select(Jurisdiction.id, Jurisdiction.path)
                            .where(Jurisdiction.id.in_({e.office_id for e in events}))).all())
    return [bus_message(e, paths.get(e.office_id)) for e in events]


def _enqueue_webhooks(db: Session, events: list[AlertEvent]) -> None:
    """Hand the batch to the webhook outbox (alerts/webhooks.py).

    Same transaction, so a webhook delivery exists exactly when the event is
    published. A failure there is logged and rolled back to a savepoint: a broken
    webhook configuration must not stop live alerts reaching officers.
    """
    try:
        with db.begin_nested():
            for event in events:
                enqueue_webhooks(db, event)
    except Exception as exc:
        log_failure(log, "webhook enqueue failed for events %s..%s; live delivery continues", exc,
                    events[0].seq, events[-1].seq)


class OutboxRelay:
    """A relay candidate: becomes the leader when it gets the advisory lock."""

    def __init__(self, *, engine: Engine, bus: Bus, clock: Clock, channel: str = BUS_CHANNEL,
                 batch_size: int = BATCH_SIZE, poll_seconds: float = 1.0, retry_seconds: float = 1.0) -> None:
        self._engine, self._bus, self._clock, self._channel = engine, bus, clock, channel
        self._batch, self._poll, self._retry = batch_size, poll_seconds, retry_seconds
        self._task: asyncio.Task[None] | None = None
        self.is_leader = False
        self.published = 0  # events published by this process (for tests and logs)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="zhijiao-outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._serve()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never die: without a relay no alert reaches anyone
                # SQLAlchemy wraps the driver's error, and its traceback would print the
                # statement: an outage is one line, anything else a traceback to read.
                if is_database_outage(exc):
                    log.warning("outbox relay: database unavailable (%s); retrying in %.0fs",
                                database_outage_reason(exc), self._retry)
                else:
                    log.warning("outbox relay: %s; retrying in %.0fs", exc, self._retry, exc_info=True)
            await asyncio.sleep(self._retry)

    async def _serve(self) -> None:
        conn = await _blocking(self._engine.connect)
        try:
            while not await _blocking(self._try_lock, conn):
                await asyncio.sleep(self._retry)  # standby
            self.is_leader = True
            log.info("outbox relay: this process (pid %s) is the leader", os.getpid())
            url = self._engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            async with await psycopg.AsyncConnection.connect(
                url, autocommit=True, application_name="zhijiao-relay-listen"
            ) as listener:
                # LISTEN before the first drain, so nothing committed in between is missed.
                await listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
                while True:
                    await self._drain(conn)
                    async for _ in listener.notifies(timeout=self._poll, stop_after=1):
                        pass
        finally:
            self.is_leader = False
            # Invalidate, never return to the pool: a pooled connection would keep
            # holding the session lock and no other process could take over.
            await _blocking(conn.invalidate)

    @staticmethod
    def _try_lock(conn: Connection) -> bool:
        # The name lets an operator (and the multi-process test) see which process leads.
        conn.execute(text("SELECT set_config('application_name', :n, false)"), {"n": f"zhijiao-relay:{os.getpid()}"})
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": RELAY_LOCK_ID}).scalar())
        conn.commit()
        return got

    async def _drain(self, conn: Connection) -> None:
        while True:
            messages, fresh = await _blocking(self._next_batch, conn)
            for message in messages:
                await self._publish(message)
            if messages:
                # Only now: had this process died before this commit, the next
                # leader re-publishes the batch (a repeat is harmless, a loss is not).
                await _blocking(self._mark, conn, [m["seq"] for m in messages])
            if fresh and len(messages) < self._batch:
                return

    def _next_batch(self, conn: Connection) -> tuple[list[dict[str, Any]], bool]:
        """Left-overs of a previous leader (or of a failed round) first, then new events.

        Both on the lock connection: while it is alive no other leader exists,
        so the re-published seqs go out before any seq stamped after them.
        """
        with Session(bind=conn, autoflush=False, expire_on_commit=False) as db:
            messages = unpublished_batch(db, limit=self._batch)
            fresh = not messages
            if fresh:
                messages = stamp_batch(db, limit=self._batch)
            db.commit()
        return messages, fresh

    def _mark(self, conn: Connection, seqs: list[int]) -> None:
        with Session(bind=conn, autoflush=False) as db:
            mark_published(db, seqs, now=self._clock.now())
            db.commit()

    async def _publish(self, message: dict[str, Any]) -> None:
        # Retry rather than skip: later events must not overtake this one on the bus.
        # While the bus is down, events are safe in the table; clients that
        # reconnect replay them from there.
        delay = 0.1
        while True:
            try:
                await self._bus.publish(self._channel, message)
                self.published += 1
                return
            except Exception as exc:  # any backend's connection error; encoding was checked
                log.warning("outbox relay: publishing seq %s failed (%s); retrying", message["seq"], exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


async def _blocking(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking database work in a thread; on cancellation, wait for it to finish
    so the connection is never closed under a running statement."""
    task = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})
        raise
