"""Stored fence versions -> geo.engine values: what every caller that judges loads.

:func:`load_fence_set` gives one supervisee's candidate fences (the fence
cache at ingest, the return report in geo.fences.permitted_area), so both
are judged by the same engine values.

Contract for the cache (ingest side):

* :func:`load_versions` returns every ``(Fence, FenceVersion)`` row pair whose
  version ``gen`` is above ``min_gen_exclusive``, plus the highest gen seen.
  Versions are re-stamped on *every* write (closing, retiring), so a cache
  that replaces its entry per ``(fence_id, version)`` with what this returns
  stays exact.  Gens follow commit order (a trigger serialises writers).
* :func:`fence_to_engine` turns one pair into an engine ``Fence``; it accepts
  any stored version.
* The window that counts is :func:`effective_window`: ``[valid_from,
  min(valid_to, fence.retired_at))``.  A version scheduled to start after its
  fence was retired never applies; the check constraint forbids storing an
  empty window, so the engine gets a window in year 1 that no fix can hit.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time
from typing import Any

from geoalchemy2.shape import to_shape
from shapely.geometry import Point
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from geo.engine import Circle, CurfewWindow, FenceSet, PersistenceRule
from geo.engine import Fence as EngineFence
from geo.models import Fence, FenceVersion

__all__ = ["curfew_windows", "effective_window", "fence_to_engine", "load_active_versions", "load_fence_set",
           "load_versions"]

# A void version's window: valid, non-empty, and long before any real fix.
NEVER = (datetime(1, 1, 1, tzinfo=UTC), datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC))


def effective_window(version: FenceVersion, fence: Fence) -> tuple[datetime, datetime | None] | None:
    """The version's window clipped at the fence's retirement; None if it never applies."""
    end = version.valid_to
    if fence.retired_at is not None and (end is None or end > fence.retired_at):
        end = fence.retired_at
    if end is not None and end <= version.valid_from:
        return None
    return version.valid_from, end


def curfew_windows(rows: Iterable[dict[str, Any]]) -> tuple[CurfewWindow, ...]:
    """Stored curfew JSON ([{start: "22:00", end: "06:00", weekdays: [0..6]}]) -> engine windows."""
    return tuple(CurfewWindow(time.fromisoformat(w["start"]), time.fromisoformat(w["end"]),
                              frozenset(w.get("weekdays", range(7)))) for w in rows)


def fence_to_engine(version: FenceVersion, fence: Fence) -> EngineFence:
    """One stored version as an engine Fence (WGS-84; a circle stays a Circle)."""
    if isinstance(version, Fence) and isinstance(fence, FenceVersion):  # tolerate (fence, version) order
        version, fence = fence, version
    geom = to_shape(version.geom)
    if version.radius_m is not None:
        if not isinstance(geom, Point):
            raise ValueError(f"fence {fence.id} v{version.version}: a radius needs a centre point")
        geometry: Any = Circle(float(geom.x), float(geom.y), float(version.radius_m))
    else:
        geometry = geom
    window = effective_window(version, fence) or NEVER
    return EngineFence(
        id=fence.id, version=version.version, supervisee_id=fence.supervisee_id, kind=fence.kind,
        geometry=geometry, valid_from=window[0], valid_to=window[1],
        persistence=PersistenceRule(int(version.min_fixes), float(version.min_seconds)),
        curfew=curfew_windows(version.curfew or []),
    )


def load_versions(db: Session, *, min_gen_exclusive: int = 0, supervisee_ids: Iterable[int] | None = None,
                  valid_after: datetime | None = None) -> tuple[list[tuple[Fence, FenceVersion]], int]:
    """Version rows written after ``min_gen_exclusive``, ordered by gen, and the highest gen seen.

    ``valid_after`` skips versions that ended before it (for a first load that
    needs only the recent past; leave it None on incremental loads so that
    closings are seen).
    """
    query = (select(Fence, FenceVersion).join(FenceVersion, FenceVersion.fence_id == Fence.id)
             .where(FenceVersion.gen > min_gen_exclusive).order_by(FenceVersion.gen))
    if supervisee_ids is not None:
        query = query.where(Fence.supervisee_id.in_(list(supervisee_ids)))
    if valid_after is not None:
        query = query.where((FenceVersion.valid_to.is_(None)) | (FenceVersion.valid_to > valid_after))
    rows = [(f, v) for f, v in db.execute(query).all()]
    max_gen = max((v.gen for _, v in rows), default=min_gen_exclusive)
    return rows, max(max_gen, min_gen_exclusive)


def load_active_versions(db: Session, *, since_gen: int = 0, valid_after: datetime | None = None,
                         supervisee_ids: Iterable[int] | None = None) -> tuple[list[EngineFence], int]:
    """Engine Fences for the versions written after ``since_gen``, and the highest gen seen.

    A full load (``since_gen`` 0) skips versions voided by retirement; an
    incremental one keeps them (with the NEVER window) so that a cache keyed
    by (fence id, version) overwrites what it held.
    """
    rows, max_gen = load_versions(db, min_gen_exclusive=since_gen, supervisee_ids=supervisee_ids,
                                  valid_after=valid_after)
    fences = [fence_to_engine(v, f) for f, v in rows if since_gen or effective_window(v, f) is not None]
    return fences, max_gen


def load_fence_set(db: Session, supervisee_id: int, *, since: datetime) -> FenceSet:
    """Every version of the supervisee's fences still valid at or after ``since``."""
    rows = db.execute(
        select(Fence, FenceVersion)
        .join(FenceVersion, FenceVersion.fence_id == Fence.id)
        .where(Fence.supervisee_id == supervisee_id,
               or_(FenceVersion.valid_to.is_(None), FenceVersion.valid_to > since))
    ).all()
    return FenceSet([fence_to_engine(version, fence) for fence, version in rows])
