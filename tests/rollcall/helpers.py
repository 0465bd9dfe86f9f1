"""Roll-call test helpers: cameras written directly (the registry is tested in tests/cameras),
enrolment through the API, a phone fix, and job rounds on the manual clock."""
from __future__ import annotations

import uuid

from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from cameras.models import Camera
from core.basis import ORDINARY
from geo.ingest.models import Fix
from rollcall.grabbing import run_rollcalls
from tests.video.faces import photo

HOME = (118.95, 28.95)


def add_camera(db, jurisdiction, *, url: str = "http://127.0.0.1:9/still.jpg", name: str = "村口东侧",
               lon: float = HOME[0], lat: float = HOME[1], status: str = "active") -> Camera:
    camera = Camera(code=f"C{uuid.uuid4().hex[:12]}", name=name, lon=lon, lat=lat,
                    geog=from_shape(Point(lon, lat), srid=4326), source_datum="wgs84", heading=90.0, fov=90.0,
                    range_m=60.0, height_m=4.0, stream_url=url, status=status,
                    jurisdiction_id=getattr(jurisdiction, "id", jurisdiction))
    db.add(camera)
    db.flush()
    return camera


def enrol(client, world, sup: str = "a", names=("a-2", "a-3"), who: str = "officer_a"):
    files = [("photos", (f"ref{i}.jpg", photo(n), "image/jpeg")) for i, n in enumerate(names)]
    r = client.post(f"/supervisees/{world.supervisees[sup].id}/face-enrolment", files=files, headers=world.auth(who))
    assert r.status_code == 201, r.text
    return r.json()


def add_fix(db, supervisee, t, lon: float, lat: float) -> Fix:
    fix = Fix(supervisee_id=supervisee.id, dedup_key=uuid.uuid4().hex, fingerprint="x", t=t, received_at=t, lon=lon,
              lat=lat, accuracy_m=15, datum="wgs84", protocol="native", raw={}, excluded=False,
              purpose=ORDINARY)
    db.add(fix)
    db.flush()
    return fix


def start(client, world, camera, *, who: str = "officer_a", sup: str = "a", **kw):
    body = {"supervisee_id": world.supervisees[sup].id, "camera_id": camera.id, **kw}
    return client.post("/rollcalls", json=body, headers=world.auth(who))


def round_(db, job, now=None):
    """One job round as the runner would run it (the test's transaction stands in for its commit)."""
    result = run_rollcalls(job(now))
    db.flush()
    return result
