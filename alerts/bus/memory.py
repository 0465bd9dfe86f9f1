"""In-process bus: the default for a single server process and for tests.

Messages still go through JSON encoding, so the size cap, the "JSON only" rule
and the copy-per-subscriber behaviour match the networked backends exactly; code
that works on ``memory://`` will not break on Postgres or NATS.

Two MemoryBus instances share nothing: this bus does not cross processes (or
even instances). Use ``postgres://`` or ``nats://`` for more than one worker.
"""
from __future__ import annotations

import asyncio

from .base import Bus, Fanout, Subscription


class MemoryBus(Bus):
    """Fan-out inside one event loop; publish never blocks on slow subscribers."""

    def __init__(self) -> None:
        super().__init__()
        self._fanout = Fanout()

    async def _connect(self) -> None:
        pass

    async def _close(self) -> None:
        self._fanout.end_all()

    async def _publish(self, channel: str, data: bytes) -> None:
        # Synchronous hand-off to each subscriber's queue keeps publish order
        # trivially; a subscriber's lag only grows its own queue (bounded there).
        self._fanout.dispatch(channel, data)
        # Yield like a network publish would, so a publisher looping over a big
        # batch lets subscribers drain instead of overflowing their queues.
        await asyncio.sleep(0)

    async def _attach(self, sub: Subscription) -> None:
        # Registered synchronously, so it sees every later publish.
        self._fanout.add(sub)

    async def _detach(self, sub: Subscription) -> None:
        self._fanout.remove(sub)
