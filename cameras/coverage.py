"""Which cameras can see a point (at its accuracy), and which are within R metres.

Candidates come from the GiST index on ``cameras.geog`` (``ST_DWithin`` on
geography: the longest range any camera may have plus the fix's accuracy);
the sector itself is decided by the pure ``geo.engine.sector`` function over
the candidates as arrays. One indexed query and one numpy pass per fix.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from cameras.models import MAX_RANGE_M, Camera
from geo.engine.sector import sector_distance_m

_COLUMNS = (Camera.id, Camera.code, Camera.name, Camera.lon, Camera.lat, Camera.heading, Camera.fov,
            Camera.range_m, Camera.jurisdiction_id)


@dataclass(frozen=True)
class CameraHit:
    id: int
    code: str
    name: str
    lon: float
    lat: float
    heading: float
    fov: float
    range_m: float
    jurisdiction_id: int
    distance_m: float


def _point(lon: float, lat: float):
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326).cast(Camera.geog.type)


def _candidates(db: Session, lon: float, lat: float, radius_m: float, clause: ColumnElement[bool] | None):
    return db.execute(
        select(*_COLUMNS).where(Camera.status == "active", clause if clause is not None else true(),
                                func.ST_DWithin(Camera.geog, _point(lon, lat), radius_m))
    ).all()


def covering_cameras(db: Session, *, lon: float, lat: float, accuracy_m: float = 0.0,
                     clause: ColumnElement[bool] | None = None, limit: int | None = None) -> list[CameraHit]:
    """Active cameras whose sector meets the accuracy circle at (lon, lat) WGS-84, nearest first."""
    rows = _candidates(db, lon, lat, MAX_RANGE_M + max(accuracy_m, 0.0), clause)
    if not rows:
        return []
    cols = np.array([(r.lon, r.lat, r.heading, r.fov, r.range_m) for r in rows], np.float64).T
    gap, dist = sector_distance_m(cols[0], cols[1], cols[2], cols[3], cols[4], lon, lat)
    seen = np.flatnonzero(gap <= max(accuracy_m, 0.0))
    order = seen[np.argsort(dist[seen], kind="stable")]
    if limit is not None:
        order = order[:limit]
    return [CameraHit(*rows[i], distance_m=float(dist[i])) for i in order]


def cameras_within(db: Session, *, lon: float, lat: float, radius_m: float,
                   clause: ColumnElement[bool] | None = None, limit: int = 50) -> list[CameraHit]:
    """Active cameras within ``radius_m`` of (lon, lat) WGS-84, nearest first (heading ignored)."""
    point = _point(lon, lat)
    distance = func.ST_Distance(Camera.geog, point)
    rows = db.execute(
        select(*_COLUMNS, distance.label("distance_m"))
        .where(Camera.status == "active", clause if clause is not None else true(),
               func.ST_DWithin(Camera.geog, point, radius_m))
        .order_by(distance, Camera.id).limit(limit)
    ).all()
    return [CameraHit(*r[:-1], distance_m=float(r.distance_m)) for r in rows]
