"""Which cameras can see a point (at its accuracy), and which are within R metres.

Candidates come from the GiST index on ``cameras.geog`` (``ST_DWithin`` on
geography: the longest range any camera may have plus the fix's accuracy);
the sector itself is decided by the pure ``geo.engine.sector`` function over
the candidates as arrays. One indexed query and one numpy pass per fix.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from geoalchemy2 import Geography
from sqlalchemy import ColumnElement, bindparam, func, select, true
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


# Built once with bound parameters: SQLAlchemy's compiled cache then serves every call, and a
# fix costs one indexed query (the geography cast keeps ST_DWithin on the GiST index, in metres).
_POINT = func.ST_SetSRID(func.ST_MakePoint(bindparam("lon"), bindparam("lat")), 4326).cast(Geography(srid=4326))
_NEAR = select(*_COLUMNS).where(Camera.status == "active", func.ST_DWithin(Camera.geog, _POINT, bindparam("radius")))
# The index finds everything within the longest possible range; this cheaper second test (on the
# sphere, padded 1 % + 1 m so the spheroid's difference never drops a camera) keeps only cameras
# within their own range of the circle, so few rows cross the wire for the sector decision.
_IN_RANGE = func.ST_DWithin(Camera.geog, _POINT, Camera.range_m * 1.01 + bindparam("accuracy") + 1.0, False)


def _candidates(db: Session, lon: float, lat: float, accuracy_m: float, clause: ColumnElement[bool] | None):
    query = _NEAR.where(_IN_RANGE) if clause is None else _NEAR.where(_IN_RANGE, clause)
    # Core execution on the session's connection: plain rows, no ORM layer per fix.
    return db.connection().execute(query, {"lon": lon, "lat": lat, "radius": MAX_RANGE_M + accuracy_m,
                                           "accuracy": accuracy_m}).all()


def covering_cameras(db: Session, *, lon: float, lat: float, accuracy_m: float = 0.0,
                     clause: ColumnElement[bool] | None = None, limit: int | None = None) -> list[CameraHit]:
    """Active cameras whose sector meets the accuracy circle at (lon, lat) WGS-84, nearest first."""
    rows = _candidates(db, lon, lat, max(accuracy_m, 0.0), clause)
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
    distance = func.ST_Distance(Camera.geog, _POINT)
    rows = db.execute(
        select(*_COLUMNS, distance.label("distance_m"))
        .where(Camera.status == "active", clause if clause is not None else true(),
               func.ST_DWithin(Camera.geog, _POINT, bindparam("radius")))
        .order_by(distance, Camera.id).limit(limit), {"lon": lon, "lat": lat, "radius": radius_m}
    ).all()
    return [CameraHit(*r[:-1], distance_m=float(r.distance_m)) for r in rows]
