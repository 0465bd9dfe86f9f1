"""The active fences, held in memory per supervisee and refreshed when they change.

Before each batch, one indexed query reads the highest fence generation
(``fence_versions.gen``, stamped in commit order by a trigger). If it moved,
the supervisees whose fences changed are evicted and rebuilt on next use.
So a fence edited through any server process is the one every process judges
the next fix against — no message bus needed for correctness, one cheap
query per batch instead.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.engine import FenceSet
from geo.fences.loading import load_fence_set
from geo.models import Fence, FenceVersion

# Versions that ended longer ago than this are not loaded: a fix older than
# the horizon (e.g. an old GPX import) gets its fences loaded separately.
LATE_FIX_HORIZON = timedelta(days=35)


class FenceCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gen = -1
        self._sets: dict[int, FenceSet] = {}

    def refresh(self, db: Session, *, gen: int | None = None) -> None:
        """Evict supervisees whose fences changed since the last look (``gen``:
        the current generation if the caller already read it)."""
        if gen is None:
            gen = db.scalar(select(func.coalesce(func.max(FenceVersion.gen), 0)))
        with self._lock:
            if gen == self._gen:
                return
            old = self._gen
        if old < 0:
            changed = None  # first look: start empty
        else:
            changed = set(db.scalars(
                select(Fence.supervisee_id).join(FenceVersion, FenceVersion.fence_id == Fence.id)
                .where(FenceVersion.gen > old, FenceVersion.gen <= gen)))
        with self._lock:
            if changed is None:
                self._sets.clear()
            else:
                for sid in changed:
                    self._sets.pop(sid, None)
            self._gen = max(self._gen, gen)

    def for_supervisee(self, db: Session, supervisee_id: int, *, now: datetime) -> FenceSet:
        with self._lock:
            cached = self._sets.get(supervisee_id)
            gen_before = self._gen
        if cached is not None:
            return cached
        fence_set = load_fence_set(db, supervisee_id, since=now - LATE_FIX_HORIZON)
        with self._lock:
            # Only cache what was loaded under the current generation: a
            # refresh in between may have evicted this supervisee already.
            if self._gen == gen_before:
                self._sets[supervisee_id] = fence_set
        return fence_set

    def invalidate(self, supervisee_id: int | None = None) -> None:
        with self._lock:
            if supervisee_id is None:
                self._sets.clear()
                self._gen = -1
            else:
                self._sets.pop(supervisee_id, None)
