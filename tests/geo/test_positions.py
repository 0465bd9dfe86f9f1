"""GET /positions: the newest usable fix per supervisee, only in the caller's jurisdiction, audited."""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from core.audit.log import AuditEntry
from geo.ingest.models import Fix


def add_fix(db, supervisee, t, lon, lat, excluded=False):
    db.add(Fix(supervisee_id=supervisee.id, dedup_key=uuid.uuid4().hex, fingerprint="x", t=t, received_at=t,
               lon=lon, lat=lat, accuracy_m=15, datum="wgs84", protocol="native", raw={}, excluded=excluded,
               purpose="信息化核查"))
    db.flush()


def test_positions_are_newest_scoped_and_audited(client, world, db, clock):
    now = clock.now()
    a, a2, b = world.supervisees["a"], world.supervisees["a2"], world.supervisees["b"]
    add_fix(db, a, now - timedelta(minutes=10), 118.90, 28.90)
    add_fix(db, a, now - timedelta(minutes=2), 118.91, 28.91)
    add_fix(db, a, now - timedelta(minutes=1), 120.0, 30.0, excluded=True)  # suspicious: not shown as "last"
    add_fix(db, b, now - timedelta(minutes=1), 118.95, 28.95)
    r = client.get("/positions", headers=world.auth("officer_a"))
    assert r.status_code == 200, r.text
    got = {p["supervisee_id"]: p for p in r.json()["positions"]}
    assert set(got) == {a.id}  # a2 has no fix; b is another office's
    assert (got[a.id]["lon"], got[a.id]["lat"]) == (118.91, 28.91)
    assert got[a.id]["name"] == "甲一"
    manager = client.get("/positions", headers=world.auth("manager")).json()
    assert {p["supervisee_id"] for p in manager["positions"]} == {a.id, b.id}
    rows = db.scalars(select(AuditEntry).where(AuditEntry.action == "positions.read")).all()
    assert len(rows) >= 2


def test_positions_refused_to_admins_and_supervisees(client, world):
    for who in ("admin", "supervisee_a"):
        assert client.get("/positions", headers=world.auth(who)).status_code == 403
