"""The camera registry over REST: admins write, staff read in scope, credentials never come back."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from cameras.models import Camera, CameraCredential
from cameras.service import credentials_for
from geo.datum import gcj02_to_wgs84

CAM = dict(code="33080300001320000001", name="村口东", lon=118.90, lat=28.90, heading=90.0, fov=90.0,
           range_m=100.0, height_m=4.5, url="rtsp://127.0.0.23:9/Streaming/Channels/101")


@pytest.fixture
def settings(settings):
    settings.cameras.camera_networks = ["127.0.0.0/8"]
    return settings


def make(client, world, **over):
    body = {**CAM, "jurisdiction_id": world.office_a.id, **over}
    return client.post("/cameras", json=body, headers=world.auth("admin"))


def test_admin_registers_and_officers_read_in_scope(client, world, db):
    r = make(client, world, credentials={"username": "viewer", "password": "s3cret-pw"})
    assert r.status_code == 201, r.text
    cam = r.json()
    assert cam["has_credentials"] is True and "s3cret" not in r.text and "viewer" not in r.text
    assert client.get(f"/cameras/{cam['id']}", headers=world.auth("officer_a")).json()["code"] == CAM["code"]
    assert client.get(f"/cameras/{cam['id']}", headers=world.auth("manager")).status_code == 200
    other = client.get(f"/cameras/{cam['id']}", headers=world.auth("officer_b"))
    missing = client.get("/cameras/999999999", headers=world.auth("officer_b"))
    assert other.status_code == missing.status_code == 404 and other.content == missing.content
    assert client.get(f"/cameras/{cam['id']}", headers=world.auth("supervisee_a")).status_code == 403
    listed = client.get("/cameras", headers=world.auth("officer_b")).json()
    assert cam["id"] not in [c["id"] for c in listed["items"]]
    # Sealed apart, opened only for a grab; never in the audit trail.
    sealed = db.scalar(select(CameraCredential.sealed).where(CameraCredential.camera_id == cam["id"]))
    assert b"s3cret-pw" not in sealed
    assert credentials_for(db, cam["id"], client.app.state.settings) == ("viewer", "s3cret-pw")
    trail = db.execute(text("SELECT detail::text FROM audit_log WHERE action LIKE 'camera.%'")).scalars().all()
    assert trail and not any("s3cret" in t for t in trail)


def test_only_admins_write(client, world):
    assert client.post("/cameras", json={**CAM, "jurisdiction_id": world.office_a.id},
                       headers=world.auth("officer_a")).status_code == 403
    cam = make(client, world).json()
    r = client.patch(f"/cameras/{cam['id']}", json={"heading": 10}, headers=world.auth("officer_a"))
    assert r.status_code == 403
    r = client.patch(f"/cameras/{cam['id']}", json={"heading": 10, "credentials": {"username": "u", "password": "p"}},
                     headers=world.auth("admin"))
    assert r.status_code == 200 and r.json()["heading"] == 10 and r.json()["has_credentials"]
    r = client.patch(f"/cameras/{cam['id']}", json={"credentials": None}, headers=world.auth("admin"))
    assert r.json()["has_credentials"] is False


def test_positions_in_any_datum_are_stored_in_wgs84(client, world, db):
    cam = make(client, world, datum="gcj02").json()
    lon, lat = gcj02_to_wgs84(CAM["lon"], CAM["lat"])
    assert cam["lon"] == pytest.approx(lon, abs=1e-7) and cam["lat"] == pytest.approx(lat, abs=1e-7)
    assert cam["source_datum"] == "gcj02"
    stored = db.execute(text("SELECT ST_X(geog::geometry), ST_Y(geog::geometry) FROM cameras WHERE id = :i"),
                        {"i": cam["id"]}).one()
    assert stored == pytest.approx((lon, lat), abs=1e-9)


@pytest.mark.parametrize("url, reason", [
    ("rtsp://admin:12345@127.0.0.23:9/live", "credentials"),
    ("file:///etc/passwd", "scheme"),
    ("rtsp://192.168.1.10/live", "network"),
    ("http://169.254.169.254/latest/meta-data", ""),
])
def test_unsafe_urls_are_refused_with_a_reason(client, world, url, reason):
    r = make(client, world, url=url)
    assert r.status_code == 422, r.text
    assert "stream URL refused" in r.text
    assert "12345" not in r.text


def test_duplicate_code_and_foreign_jurisdiction(client, world, db):
    assert make(client, world).status_code == 201
    assert make(client, world).status_code == 409
    from supervision.jurisdictions import add_jurisdiction

    elsewhere = add_jurisdiction(db, name="外区", level="bureau", parent=None, code="ELSEWHERE-CAM")
    r = make(client, world, code="other-1", jurisdiction_id=elsewhere.id)
    assert r.status_code == 404


def test_coverage_and_nearby_routes_are_scoped(client, world):
    cam = make(client, world).json()  # at (118.90, 28.90) looking east, 90°, 100 m
    q = {"lon": 118.9005, "lat": 28.90, "accuracy": 5}
    hits = client.get("/cameras/coverage", params=q, headers=world.auth("officer_a")).json()["items"]
    assert [h["id"] for h in hits] == [cam["id"]] and 40 < hits[0]["distance_m"] < 60
    behind = client.get("/cameras/coverage", params={**q, "lon": 118.8995}, headers=world.auth("officer_a")).json()
    assert behind["items"] == []
    near = client.get("/cameras/nearby", params={"lon": 118.8995, "lat": 28.90, "radius": 100},
                      headers=world.auth("officer_a")).json()["items"]
    assert [h["id"] for h in near] == [cam["id"]]
    assert client.get("/cameras/coverage", params=q, headers=world.auth("officer_b")).json()["items"] == []
    assert client.get("/cameras/coverage", params=q, headers=world.auth("supervisee_a")).status_code == 403


def test_a_new_endpoint_does_not_inherit_the_old_credentials(client, world, db):
    """Pointing a camera at another host must not hand that host the stored password."""
    cam = make(client, world, credentials={"username": "viewer", "password": "s3cret-pw"}).json()
    r = client.patch(f"/cameras/{cam['id']}", json={"url": "rtsp://127.0.0.23:9/Streaming/Channels/102"},
                     headers=world.auth("admin"))
    assert r.status_code == 200 and r.json()["has_credentials"] is True  # same endpoint, another path
    r = client.patch(f"/cameras/{cam['id']}", json={"url": "rtsp://127.0.0.99:9/live"}, headers=world.auth("admin"))
    assert r.status_code == 200 and r.json()["has_credentials"] is False
    assert credentials_for(db, cam["id"], client.app.state.settings) is None
    r = client.patch(f"/cameras/{cam['id']}", json={"url": "rtsp://127.0.0.98:9/live",
                                                    "credentials": {"username": "new", "password": "n3w-pw"}},
                     headers=world.auth("admin"))
    assert r.json()["has_credentials"] is True
    assert credentials_for(db, cam["id"], client.app.state.settings) == ("new", "n3w-pw")
