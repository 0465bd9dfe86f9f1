"""The ingest routes' in-process device credential cache: keyed hash → device.

A phone sends a fix a minute, each with its credential; looking the device
up in the database costs a query per request that answers the same thing
every time. The cache answers it from memory and stays exact:

- ``sync`` reads ``device_auth_generation`` in the caller's transaction (one
  tiny query for a whole group of requests) and drops every entry when the
  value moved. Triggers change it whenever anything a lookup reads changes
  (migration 0024), so a device disabled, re-keyed or moved, or a supervision
  ended, is refused by the first request whose transaction starts after that
  change committed — as it would be without the cache.
- Entries are tagged with the generation they were read under; an entry of
  another generation is never used, and one read under an older generation is
  never stored.
- Only devices that authenticated are kept (by the keyed hash of the secret,
  never the secret itself); a miss is looked up every time, so a guessing
  stranger costs a query, as before, and fills nothing.
"""
from __future__ import annotations

import functools
import threading

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.ingest.devices import CredentialLookup, DeviceRecord, find_by_credential

# Far above one process's share of a province; reached, the cache starts again
# (a flood of distinct valid credentials is bounded by the devices table).
MAX_ENTRIES = 500_000


class DeviceCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._lock = threading.Lock()
        self._gen: int | None = None
        self._entries: dict[tuple[str, str], tuple[int, DeviceRecord]] = {}
        self._max = max_entries

    def lookup_in(self, db: Session) -> CredentialLookup:
        """The lookup for one transaction: the generation is read in it first (one query)."""
        return functools.partial(self.lookup, db, self.sync(db))

    def sync(self, db: Session) -> int:
        """The current generation, read in ``db``'s transaction; entries of any other are dropped."""
        gen = db.execute(text("SELECT gen FROM device_auth_generation WHERE id = 1")).scalar_one()
        with self._lock:
            if gen != self._gen:
                self._entries.clear()
                self._gen = gen
        return gen

    def lookup(self, db: Session, gen: int, credential_hash: str, protocol: str) -> DeviceRecord | None:
        """find_by_credential as of generation ``gen``: from memory when it was read under it."""
        key = (credential_hash, protocol)
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0] == gen:
            return hit[1]
        found = find_by_credential(db, credential_hash, protocol)
        if found is None:
            return None
        with self._lock:
            if gen == self._gen:  # read under an older generation: used once, never kept
                if len(self._entries) >= self._max:
                    self._entries.clear()
                self._entries[key] = (gen, found)
        return found
