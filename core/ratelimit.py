"""Token buckets per key, in process memory: cheap enough to check on every request.

Why in process and not in PostgreSQL: ingest must take ≥10,000 single-fix
requests a second (issue 13), and a database round trip per check would cost
more than much of the work it protects. So each server process keeps its own
buckets; with N processes a key may get up to N bursts, and the sustained
rate is divided between them by the caller (``rate / processes``), so the
sum stays at the configured rate whichever process a request reaches.

A key is only a digest of what the caller presented (a device credential),
never the credential itself, and the table is bounded: a bucket that has
refilled completely is the same as no bucket, so such buckets are dropped
when the table grows, and a flood of made-up keys cannot grow memory without
end.
"""
from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable

from core.errors import TooManyRequests

MAX_KEYS = 100_000


class RateLimiter:
    """``rate`` tokens a second per key, at most ``burst`` saved up; ``cost`` tokens per call."""

    def __init__(self, *, rate: float, burst: int, what: str, unit: str = "requests", max_keys: int = MAX_KEYS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst ≥ 1")
        self.rate, self.burst, self.what, self.unit = rate, float(burst), what, unit
        self._max_keys = max_keys
        self._now = monotonic
        self._buckets: dict[bytes, tuple[float, float]] = {}  # key -> (tokens, at)
        # Checked from the event loop and from worker threads alike.
        self._lock = threading.Lock()

    @staticmethod
    def key(value: str) -> bytes:
        return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def check(self, value: str, cost: int = 1, *, consume: bool = True) -> None:
        """Take ``cost`` tokens for ``value`` (only look, with ``consume=False``) or raise
        TooManyRequests with the wait until they are there."""
        wait = self.take(self.key(value), cost, consume=consume)
        if wait:
            raise TooManyRequests(
                f"too many {self.unit} from this {self.what}: at most {self._rate_text()} "
                f"(bursts of {self.burst:g}); retry after {math.ceil(wait)} s", retry_after=math.ceil(wait))

    def _rate_text(self) -> str:
        return f"{self.rate:.3g} a second" if self.rate >= 1 else f"{self.rate * 60:.3g} a minute"

    def take(self, key: bytes, cost: int = 1, *, consume: bool = True) -> float:
        """0.0 if ``cost`` tokens were taken, else the seconds until they are available
        (a cost above the burst is charged as the burst: it can never be saved up)."""
        cost = min(float(cost), self.burst)
        now = self._now()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < cost:
                self._buckets[key] = (tokens, now)
                return (cost - tokens) / self.rate
            self._buckets[key] = (tokens - cost if consume else tokens, now)
            if len(self._buckets) > self._max_keys:
                self._prune(now)
            return 0.0

    def _prune(self, now: float) -> None:
        full = [k for k, (tokens, at) in self._buckets.items()
                if tokens + (now - at) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) > self._max_keys:
            # Still too many keys all in use: forget the least recently used half
            # (they get a fresh burst; bounded memory matters more).
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            for k in by_age[: len(by_age) // 2]:
                del self._buckets[k]

    def __len__(self) -> int:
        return len(self._buckets)
