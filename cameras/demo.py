"""Demo cameras in the 衢江区 demo district, so coverage and camera evidence show up in the demo.

Village cameras look at every demo supervisee's home from ~40 m away (a
curfew breach starts there), and domes line the road out of the district
that each simulated phone drives (geo/demo_simulator.py: the nearest way
out, 2 km past the boundary), so its "left the permitted area" alert has
cameras. Their stream URLs are loopback addresses (127.0.2.x, port 9) that
the default, empty camera network setting refuses, as does any setting that
does not name loopback itself (video/camera_url.py): the demo shows coverage,
and the grabs fail as "refused" before any connection, never reaching out.
"""
from __future__ import annotations

import math

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from cameras.models import Camera
from geo.admin_areas import admin_union
from geo.demo_simulator import _exit_point
from geo.engine.zones import local_to_lonlat
from supervision.demo import BUREAU_CODE, PERMITTED_CODES
from supervision.models import Jurisdiction, Supervisee

PREFIX = "DEMO-"
ROAD_STEP_M = 150.0


def _camera(code: str, name: str, lon: float, lat: float, heading: float, fov: float, range_m: float,
            office_id: int, n: int) -> Camera:
    return Camera(code=code, name=name, lon=lon, lat=lat, geog=from_shape(Point(lon, lat), srid=4326),
                  source_datum="wgs84", heading=heading % 360.0, fov=fov, range_m=range_m, height_m=4.0,
                  stream_url=f"rtsp://127.0.2.{n % 250 + 1}:9/Streaming/Channels/{n}01",
                  jurisdiction_id=office_id, status="active")


def seed_demo_cameras(db: Session, *, phones: int = 40) -> int:
    """Add the demo cameras once (a second run adds none); returns how many were added. Caller commits."""
    if db.scalar(select(Camera.id).where(Camera.code.startswith(PREFIX)).limit(1)) is not None:
        return 0
    bureau = db.scalar(select(Jurisdiction).where(Jurisdiction.code == BUREAU_CODE))
    if bureau is None:
        return 0
    offices = select(Jurisdiction.id).where(Jurisdiction.path.startswith(bureau.path))
    people = db.scalars(select(Supervisee).where(Supervisee.status == "active", Supervisee.office_id.in_(offices))
                        .order_by(Supervisee.id)).all()
    rows: list[Camera] = []
    for person in people:
        home = to_shape(person.residence)
        # 40 m south-east of the home, looking back at it (bearing 315°).
        lon, lat = local_to_lonlat(28.3, -28.3, home.x, home.y)
        rows.append(_camera(f"{PREFIX}H{person.id}", "村口监控", float(lon), float(lat), 315.0, 90.0, 100.0,
                            person.office_id, len(rows)))
    # The same people the simulator gives phones (provision_phones' choice), and their road out.
    area = admin_union(db, PERMITTED_CODES).geometry
    for person in people[:: max(1, len(people) // phones)][:phones]:
        home = to_shape(person.residence)
        exit_lon, exit_lat = _exit_point(area, (home.x, home.y))
        dx = (exit_lon - home.x) * 111_320 * math.cos(math.radians(home.y))
        dy = (exit_lat - home.y) * 111_320
        length = math.hypot(dx, dy)
        # The last 4 km before the exit point: where the phone crosses the boundary and keeps going.
        steps = int(min(length, 4000.0) // ROAD_STEP_M)
        for k in range(steps + 1):
            f = 1.0 - k * ROAD_STEP_M / length
            rows.append(_camera(f"{PREFIX}R{person.id}-{k}", "道路球机", home.x + (exit_lon - home.x) * f,
                                home.y + (exit_lat - home.y) * f, 0.0, 360.0, 120.0, person.office_id, len(rows)))
    db.add_all(rows)
    db.flush()
    return len(rows)
