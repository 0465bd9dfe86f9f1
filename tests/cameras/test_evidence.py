"""Violation alerts get their covering cameras in the alert's transaction; frames come later, scoped."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from alerts.models import Alert, AlertEvidence, AlertKind
from cameras.models import CameraSnapshot
from cameras.purge import RETENTION
from tests.alerts.alert_helpers import make_alert
from tests.geo.ingest.conftest import EXCLUDED, tracked  # noqa: F401  (the fixture)

# Looking west at the exclusion zone's centre from 50 m east; one looking away; one far off.
SEES = dict(code="E-SEES", lon=EXCLUDED[0] + 0.000514, lat=EXCLUDED[1], heading=270.0, fov=60.0, range_m=120.0)
AWAY = dict(code="E-AWAY", lon=EXCLUDED[0] + 0.000514, lat=EXCLUDED[1], heading=90.0, fov=60.0, range_m=120.0)
DOME = dict(code="E-DOME", lon=EXCLUDED[0], lat=EXCLUDED[1] + 0.0009, heading=0.0, fov=360.0, range_m=150.0)


@pytest.fixture
def settings(settings):
    settings.cameras.camera_networks = ["127.0.0.0/8"]
    return settings


def register(client, world, jurisdiction, **cam):
    body = {"name": cam["code"], "url": "http://127.0.0.29:9/snapshot.jpg", "jurisdiction_id": jurisdiction.id, **cam}
    r = client.post("/cameras", json=body, headers=world.auth("admin"))
    assert r.status_code == 201, r.text
    return r.json()


def violate(client, tracked, clock, n=4):
    t0 = clock.now() - timedelta(minutes=5)
    fixes = [{"id": f"v{i}", "time": (t0 + timedelta(seconds=40 * i)).isoformat(), "lon": EXCLUDED[0],
              "lat": EXCLUDED[1], "accuracy": 10} for i in range(n)]
    r = client.post("/ingest/native", headers=tracked.bearer(), json={"fixes": fixes})
    assert r.status_code == 200, r.text


def test_a_violation_gets_the_cameras_that_see_it(client, world, db, tracked, clock):
    sees = register(client, world, world.office_b, **SEES)  # another office's camera still sees the place
    register(client, world, world.office_a, **AWAY)
    dome = register(client, world, world.office_a, **DOME)  # 100 m north, range 150
    violate(client, tracked, clock)
    alert = db.scalar(select(Alert).where(Alert.supervisee_id == tracked.supervisee.id,
                                          Alert.kind == AlertKind.entered_exclusion_zone))
    assert alert is not None
    cams = [e.detail["cameras"] for e in db.scalars(select(AlertEvidence).where(AlertEvidence.alert_id == alert.id))
            if "cameras" in (e.detail or {})]
    assert len(cams) == 1
    assert [c["camera_id"] for c in cams[0]] == [sees["id"], dome["id"]]  # nearest first, not the one looking away
    pending = db.scalars(select(CameraSnapshot).where(CameraSnapshot.alert_id == alert.id)).all()
    assert {p.camera_id for p in pending} == {sees["id"], dome["id"]}
    assert {p.state for p in pending} == {"pending"} and {p.supervisee_id for p in pending} == {tracked.supervisee.id}
    listed = client.get(f"/alerts/{alert.id}/snapshots", headers=world.auth("officer_a"))
    assert listed.status_code == 200 and len(listed.json()["items"]) == 2
    other = client.get(f"/alerts/{alert.id}/snapshots", headers=world.auth("officer_b"))
    missing = client.get("/alerts/999999999/snapshots", headers=world.auth("officer_b"))
    assert other.status_code == missing.status_code == 404 and other.content == missing.content


def test_at_most_k_cameras_and_none_for_other_kinds(app, db, world, clock, settings):
    from cameras.evidence import AttachCameras
    from cameras.models import Camera
    from alerts.hooks import on_alert_created
    from geoalchemy2.shape import from_shape
    from shapely.geometry import Point

    for i in range(5):
        lon = 118.9 + 0.0001 * i
        db.add(Camera(code=f"K-{i}", name="k", lon=lon, lat=28.9, geog=from_shape(Point(lon, 28.9), srid=4326),
                      source_datum="wgs84", heading=0, fov=360, range_m=200, stream_url="http://127.0.0.21:9/x",
                      jurisdiction_id=world.office_a.id, status="active"))
    db.flush()
    on_alert_created("cameras", AttachCameras(2))
    try:
        alert = make_alert(db, world, clock)  # left the permitted area at (118.9, 28.9)
        assert len(db.scalars(select(CameraSnapshot).where(CameraSnapshot.alert_id == alert.id)).all()) == 2
        device = make_alert(db, world, clock, kind=AlertKind.integrity)
        assert db.scalars(select(CameraSnapshot).where(CameraSnapshot.alert_id == device.id)).all() == []
    finally:
        on_alert_created("cameras", AttachCameras(settings.cameras.camera_snapshots_per_alert))


def test_purge_deletes_the_persons_snapshots(client, world, db, tracked, clock, settings):
    from core.audit import AuditLog
    from core.context import Ctx
    from core.principal import RequestContext

    register(client, world, world.office_a, **DOME)
    violate(client, tracked, clock)
    assert db.scalars(select(CameraSnapshot).where(CameraSnapshot.supervisee_id == tracked.supervisee.id)).all()
    ctx = Ctx(db=db, request=RequestContext(None, source_addr="test"), audit=AuditLog(b"k" * 32, clock),
              settings=settings, clock=clock)
    counts = RETENTION.purge(ctx, tracked.supervisee.id)
    assert counts["camera_snapshots"] >= 1
    assert db.scalars(select(CameraSnapshot).where(CameraSnapshot.supervisee_id == tracked.supervisee.id)).all() == []
