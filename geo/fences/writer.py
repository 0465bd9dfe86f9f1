"""The one writer of fence rows: open a fence, add a version, end a fence.

Unscoped and unaudited on purpose: the callers decide who may write and
record why (geo.fences.service for officers' edits, geo.fences.permitted_area
for a supervisee's permitted area codes, leave/ for destinations, corridors
and standing permits, which also change on a supervisee's withdrawal and in
scheduled jobs). What every caller gets here, so no caller can forget it:

* versions are never rewritten into the past: a new version closes the one
  before it at its own ``valid_from``, never earlier;
* ending a fence closes the versions that have started at ``now`` and voids
  the ones not yet started (``fences.retired_at`` clips them, see
  geo.fences.loading.effective_window: a version cannot be given an empty
  window, ``valid_to > valid_from`` is a constraint);
* every write re-stamps ``fence_versions.gen`` (a trigger), and rows are
  flushed in the order that keeps gens in commit order, so every process's
  fence cache reloads what changed.

Flushes, never commits: the request or job owns the transaction.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import from_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from geo.geometry_input import ParsedGeometry
from geo.models import Fence, FenceVersion

__all__ = ["Shape", "StoredShape", "add_version", "current_version", "end_fence", "open_fence", "versions"]

DEFAULT_MIN_FIXES = 2
DEFAULT_MIN_SECONDS = 60.0


class StoredShape(Protocol):
    """What a version's geometry is made of: a FenceVersion, a leave row, a parsed destination..."""

    geom: Any  # WKBElement, or a Shapely geometry in WGS-84
    radius_m: float | None
    datum: str
    raw: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Shape:
    """Plain geometry for a version: WGS-84 (Shapely or WKB), a circle's radius, the declared datum, the raw input."""

    geom: Any
    radius_m: float | None
    datum: str
    raw: dict[str, Any]

    @classmethod
    def parsed(cls, parsed: ParsedGeometry, raw: dict[str, Any]) -> "Shape":
        """From what geo.geometry_input / geo.fences.shapes produced."""
        return cls(parsed.geometry, parsed.radius_m, parsed.datum, raw)


def _wkb(geom: WKBElement | BaseGeometry) -> WKBElement:
    return from_shape(geom, srid=4326) if isinstance(geom, BaseGeometry) else geom


def open_fence(db: Session, *, supervisee_id: int, kind: str, label: str, shape: StoredShape,
               valid_from: datetime, valid_to: datetime | None, created_by: int | None,
               source: dict[str, Any] | None = None, sensitive: bool = False,
               curfew: Iterable[dict[str, Any]] = (), min_fixes: int = DEFAULT_MIN_FIXES,
               min_seconds: float = DEFAULT_MIN_SECONDS) -> Fence:
    """A new fence with one version [valid_from, valid_to)."""
    fence = Fence(supervisee_id=supervisee_id, kind=kind, label=label[:200], sensitive=sensitive,
                  current_version=1, source=dict(source or {}), created_by=created_by)
    db.add(fence)
    db.flush()
    db.add(FenceVersion(fence_id=fence.id, version=1, geom=_wkb(shape.geom), radius_m=shape.radius_m,
                        datum=shape.datum, raw=dict(shape.raw or {}), valid_from=valid_from, valid_to=valid_to,
                        curfew=list(curfew), min_fixes=min_fixes, min_seconds=min_seconds, created_by=created_by))
    db.flush()
    db.refresh(fence)
    return fence


def versions(db: Session, fence: Fence, *, lock: bool = True) -> list[FenceVersion]:
    """The fence's versions, oldest first (locked: the caller is about to change them)."""
    query = select(FenceVersion).where(FenceVersion.fence_id == fence.id).order_by(FenceVersion.version)
    return list(db.scalars(query.with_for_update() if lock else query))


def current_version(db: Session, fence: Fence) -> FenceVersion:
    """The version ``fence.current_version`` names."""
    version = db.scalar(select(FenceVersion).where(FenceVersion.fence_id == fence.id,
                                                   FenceVersion.version == fence.current_version))
    assert version is not None, f"fence {fence.id} has no version {fence.current_version}"
    return version


def add_version(db: Session, fence: Fence, *, shape: StoredShape, valid_from: datetime,
                valid_to: datetime | None, created_by: int | None, curfew: Iterable[dict[str, Any]] = (),
                min_fixes: int = DEFAULT_MIN_FIXES, min_seconds: float = DEFAULT_MIN_SECONDS) -> FenceVersion:
    """Close the current version at ``valid_from`` (if it runs past it) and make the next one current."""
    prev = current_version(db, fence)
    if prev.valid_to is None or prev.valid_to > valid_from:
        prev.valid_to = valid_from
    db.flush()  # close prev first: its gen is stamped below the new version's
    version = FenceVersion(
        fence_id=fence.id, version=prev.version + 1, geom=_wkb(shape.geom), radius_m=shape.radius_m,
        datum=shape.datum, raw=dict(shape.raw or {}), valid_from=valid_from, valid_to=valid_to,
        curfew=list(curfew), min_fixes=min_fixes, min_seconds=min_seconds, created_by=created_by)
    db.add(version)
    fence.current_version = version.version
    db.flush()
    return version


def end_fence(db: Session, fence: Fence, *, now: datetime) -> None:
    """Stop the fence applying from ``now`` on (history before ``now`` stays); no-op if already ended."""
    if fence.retired_at is not None:
        return
    fence.retired_at = now
    for v in versions(db, fence):
        if v.valid_to is not None and v.valid_to <= now:
            continue
        if v.valid_from < now:
            v.valid_to = now
        else:
            # Not started: voided by retired_at; touching the row re-stamps its gen
            # so every fence cache reloads it.
            flag_modified(v, "raw")
    db.flush()
