"""Process-level tuning for a long-running server process.

Garbage collection: a server process holds many long-lived objects (the
geofence cache of every supervisee, SQLAlchemy's metadata, the hub's
sockets). CPython's default thresholds run a full collection over all of
them every few seconds under ingest load, and each pause (~300 ms measured
with the 5,000-supervisee benchmark world) stalls every request and socket
of the process: it was the whole p99 of alert delivery. Collections of the
young generation stay frequent; the old generation is collected rarely, and
what exists at start-up is frozen out of collection altogether.
"""
from __future__ import annotations

import gc

YOUNG, MIDDLE, OLD = 50_000, 50, 1000


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
