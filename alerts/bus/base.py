"""The pub/sub interface every bus backend implements, plus the pieces they share.

A bus carries small JSON events between server processes: alert events (published
by the outbox relay after commit) and cache-invalidation notices. It is a
*notification* channel, not a store: a subscriber sees only what is published
after it subscribed, and anything that must never be missed is re-read from the
database (clients resume from the last event id they saw).
"""
from __future__ import annotations

import asyncio
import json
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Self

# Postgres NOTIFY payloads must be under 8000 bytes. We cap every backend a little
# below that so a message accepted by the in-memory bus in tests is also accepted
# by Postgres in production: behaviour must not depend on the backend.
MAX_MESSAGE_BYTES = 7000

# Dot-separated segments of [a-z0-9_:-]; at most 60 characters in all. This is a
# subset of what every backend can carry unescaped: NATS forbids empty subject
# tokens ("a..b", "a."), and "zj." + 60 characters still fits Postgres's
# 63-byte identifier limit.
_CHANNEL_RE = re.compile(r"[a-z0-9_:-]+(?:\.[a-z0-9_:-]+)*")
MAX_CHANNEL_CHARS = 60

# A subscriber that falls this far behind is cut off with BusOverflowError rather
# than letting its queue grow without bound (or silently dropping messages).
MAX_PENDING = 10_000


class BusGapError(RuntimeError):
    """A subscription ended because messages may have been missed: resubscribe, then resync."""


class BusOverflowError(BusGapError):
    """Raised from a subscription whose consumer fell more than MAX_PENDING messages behind."""


class BusDisconnectedError(BusGapError):
    """Raised from a subscription whose backend connection dropped (messages may be lost)."""


def validate_channel(channel: str) -> str:
    """Return ``channel`` unchanged if it is a valid channel name, else raise ValueError."""
    if (
        not isinstance(channel, str)
        or len(channel) > MAX_CHANNEL_CHARS
        or not _CHANNEL_RE.fullmatch(channel)
    ):
        raise ValueError(
            f"invalid bus channel {channel!r}: use 1-{MAX_CHANNEL_CHARS} characters of "
            "a-z 0-9 _ : - in non-empty segments separated by '.'"
        )
    return channel


def encode_message(message: dict[str, Any]) -> bytes:
    """Serialise ``message`` to compact UTF-8 JSON, enforcing the size cap."""
    if not isinstance(message, dict):
        raise TypeError(f"bus messages must be dicts, got {type(message).__name__}")
    try:
        # allow_nan=False: NaN/Infinity are not JSON and would break non-Python consumers.
        text = json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:  # NaN, circular reference
        raise ValueError(f"bus message is not valid JSON: {exc}") from exc
    # TypeError from json.dumps (e.g. a datetime value) propagates: it names the type.
    data = text.encode("utf-8")
    if len(data) > MAX_MESSAGE_BYTES:
        raise ValueError(
            f"bus message is {len(data)} bytes of JSON, over the {MAX_MESSAGE_BYTES}-byte cap; "
            "publish an id and let subscribers load the details"
        )
    return data


def decode_message(data: bytes | str) -> dict[str, Any]:
    """Inverse of :func:`encode_message`."""
    message = json.loads(data)
    if not isinstance(message, dict):
        raise ValueError("bus message is not a JSON object")
    return message


_END = object()  # queue sentinel: no more messages


class Subscription:
    """Async iterator over one subscriber's messages; fed by a backend."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        # Unbounded on purpose: the MAX_PENDING check in deliver() bounds it, and
        # the end sentinel must always fit.
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._error: BaseException | None = None
        self._ended = False

    def deliver(self, message: dict[str, Any]) -> None:
        """Queue a message (called by the backend; never blocks the publisher)."""
        if self._ended:
            return
        if self._queue.qsize() >= MAX_PENDING:
            self.end(BusOverflowError(
                f"subscriber to {self.channel!r} fell {MAX_PENDING} messages behind; resubscribe and resync"
            ))
            return
        self._queue.put_nowait(message)

    def end(self, error: BaseException | None = None) -> None:
        """Finish the iteration after queued messages, raising ``error`` if given."""
        if not self._ended:
            self._ended, self._error = True, error
            self._queue.put_nowait(_END)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> dict[str, Any]:
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # keep later __anext__ calls ending too
            if self._error is not None:
                raise self._error
            raise StopAsyncIteration
        return item


class Fanout:
    """Channel -> live subscriptions, for backends that share one upstream per channel."""

    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = {}

    def add(self, sub: Subscription) -> bool:
        """Register ``sub``; True if it is the channel's first subscriber."""
        subs = self._subs.setdefault(sub.channel, set())
        subs.add(sub)
        return len(subs) == 1

    def remove(self, sub: Subscription) -> bool:
        """Unregister ``sub``; True if the channel has no subscribers left."""
        subs = self._subs.get(sub.channel, set())
        subs.discard(sub)
        if subs:
            return False
        self._subs.pop(sub.channel, None)
        return True

    def dispatch(self, channel: str, data: bytes | str) -> None:
        """Hand the encoded message to every subscriber of ``channel``."""
        for sub in tuple(self._subs.get(channel, ())):
            # Decoding per subscriber gives each its own copy, so one cannot mutate
            # another's message (the in-memory bus would otherwise share one dict).
            sub.deliver(decode_message(data))

    def end_all(self, error: BaseException | None = None) -> None:
        for subs in self._subs.values():
            for sub in subs:
                sub.end(error)
        self._subs.clear()


class Bus(ABC):
    """Publish/subscribe of small JSON dicts on named channels.

    Guarantees, checked by tests/alerts/test_bus_contract.py for every backend:
    every subscriber of a channel gets every message published after its
    ``subscribe`` context was entered, in each publisher's order; nothing from
    other channels; nothing published before it subscribed. When a backend cannot
    keep that promise (slow consumer, lost connection) the subscription raises a
    BusGapError instead of silently skipping: resubscribe, then resync from the DB.
    """

    def __init__(self) -> None:
        self._state = "new"  # new -> open -> closed

    async def connect(self) -> None:
        """Open connections; must be awaited before publish/subscribe."""
        if self._state == "closed":
            raise RuntimeError("bus is closed")
        if self._state == "new":
            await self._connect()
            self._state = "open"

    async def close(self) -> None:
        """Close connections and end every open subscription. Idempotent."""
        if self._state == "open":
            self._state = "closed"
            await self._close()
        self._state = "closed"

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every current subscriber of ``channel``."""
        validate_channel(channel)
        data = encode_message(message)
        self._require_open()
        await self._publish(channel, data)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        """Subscribe to ``channel``; fully subscribed once the context is entered."""
        validate_channel(channel)
        self._require_open()
        sub = Subscription(channel)
        await self._attach(sub)
        try:
            yield sub
        finally:
            sub.end()
            if self._state == "open":
                await self._detach(sub)

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _require_open(self) -> None:
        if self._state != "open":
            raise RuntimeError(f"bus is {'closed' if self._state == 'closed' else 'not connected'}")

    # Backend hooks. ``data`` is already validated, size-checked UTF-8 JSON.
    @abstractmethod
    async def _connect(self) -> None: ...

    @abstractmethod
    async def _close(self) -> None:
        """Release resources and end() every live subscription."""

    @abstractmethod
    async def _publish(self, channel: str, data: bytes) -> None: ...

    @abstractmethod
    async def _attach(self, sub: Subscription) -> None:
        """Start feeding ``sub``; return only once it is guaranteed to see new messages.

        If it raises (including on cancellation) it must leave nothing attached.
        """

    @abstractmethod
    async def _detach(self, sub: Subscription) -> None: ...
