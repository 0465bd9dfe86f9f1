"""End to end: a violation near a real (loopback) camera → the alert's evidence has the camera and a frame,
which the responsible officer can read and another office's officer cannot (404)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from alerts.models import Alert, AlertKind
from cameras.models import CameraSnapshot
from cameras.snapshots import grab_pending
from tests.cameras.test_evidence import SEES, register, violate
from tests.cameras_fixture import PRIVATE_CREDENTIALS, camera_servers
from tests.geo.ingest.conftest import tracked  # noqa: F401  (the fixture)
from video.capture import GrabPool

FACE = Path(__file__).resolve().parent.parent / "data" / "faces" / "person-a-1.jpg"


@pytest.fixture
def settings(settings):
    settings.cameras.camera_networks = ["127.0.0.0/8"]
    return settings


@pytest.fixture
def pool():
    p = GrabPool(workers=2, deadline_s=3.0, max_queue=8)
    yield p
    p.close()


@pytest.fixture
def cams():
    with camera_servers(images=[FACE]) as servers:
        yield servers


def test_violation_frame_reaches_the_responsible_officer_only(client, world, db, tracked, clock, job, pool, cams):
    cam = register(client, world, world.office_a, **{**SEES, "url": cams.still})
    hung = register(client, world, world.office_a, **{**SEES, "code": "E-HUNG", "url": cams.black_hole})
    violate(client, tracked, clock)
    alert = db.scalar(select(Alert).where(Alert.supervisee_id == tracked.supervisee.id,
                                          Alert.kind == AlertKind.entered_exclusion_zone))
    started = time.monotonic()
    counts = grab_pending(job(), pool=pool)
    # The hung camera costs its deadline (3 s), not forever; the slack is for starting worker
    # processes on a loaded machine (the pool's own deadline tests are in tests/video).
    assert time.monotonic() - started < 3.0 + 15.0
    assert counts == {"done": 1, "failed": 1}
    snaps = {s["camera_id"]: s for s in
             client.get(f"/alerts/{alert.id}/snapshots", headers=world.auth("officer_a")).json()["items"]}
    assert snaps[cam["id"]]["state"] == "done" and snaps[cam["id"]]["frames"] == 1
    assert snaps[hung["id"]]["state"] == "failed" and snaps[hung["id"]]["error"] == "timeout"
    frame_url = f"/camera-snapshots/{snaps[cam['id']]['id']}/frames/0"
    r = client.get(frame_url, headers=world.auth("officer_a"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
    other = client.get(frame_url, headers=world.auth("officer_b"))
    missing = client.get("/camera-snapshots/999999999/frames/0", headers=world.auth("officer_b"))
    assert other.status_code == missing.status_code == 404 and other.content == missing.content
    assert client.get(frame_url, headers=world.auth("manager")).status_code == 200
    # Stored encrypted (the file is not the JPEG), and every read is in the audit trail.
    from core.media import Media
    from core.media.files import path_of

    snap = db.get(CameraSnapshot, snaps[cam["id"]]["id"])
    row = db.get(Media, snap.media_ids[0])
    on_disk = path_of(client.app.state.settings.media.media_dir, row.file_name).read_bytes()
    assert row.kind == "snapshot" and row.supervisee_id == tracked.supervisee.id
    assert on_disk[:2] != b"\xff\xd8" and r.content not in on_disk
    reads = db.execute(text("SELECT count(*) FROM audit_log WHERE action = 'media.read' AND outcome = 'ok'")).scalar()
    assert reads >= 2


def test_credentials_go_to_the_camera_and_an_on_demand_grab(client, world, db, job, pool, cams):
    user, password = PRIVATE_CREDENTIALS
    cam = register(client, world, world.office_a, code="P-1", lon=118.9, lat=28.9, heading=0, fov=90, range_m=50,
                   url=cams.private, credentials={"username": user, "password": password})
    r = client.post(f"/cameras/{cam['id']}/snapshots", headers=world.auth("officer_a"))
    assert r.status_code == 201 and r.json()["state"] == "pending"
    assert client.post(f"/cameras/{cam['id']}/snapshots", headers=world.auth("officer_b")).status_code == 404
    assert grab_pending(job(), pool=pool) == {"done": 1}
    snap = db.get(CameraSnapshot, r.json()["id"])
    db.refresh(snap)
    assert snap.state == "done" and len(snap.media_ids) == 1
    assert client.get(f"/camera-snapshots/{snap.id}/frames/0", headers=world.auth("officer_a")).status_code == 200
    assert client.get(f"/camera-snapshots/{snap.id}/frames/0", headers=world.auth("officer_b")).status_code == 404
    assert client.get(f"/camera-snapshots/{snap.id}/frames/1", headers=world.auth("officer_a")).status_code == 404
    trail = " ".join(db.execute(text("SELECT detail::text FROM audit_log")).scalars())
    assert password not in trail


def test_a_url_no_longer_in_the_camera_networks_is_not_fetched(client, world, db, job, pool, cams, settings):
    cam = register(client, world, world.office_a, code="N-1", lon=118.9, lat=28.9, heading=0, fov=90, range_m=50,
                   url=cams.still)
    client.post(f"/cameras/{cam['id']}/snapshots", headers=world.auth("officer_a"))
    settings.cameras.camera_networks = ["127.9.0.0/16"]
    served = len(cams.requests)
    assert grab_pending(job(), pool=pool) == {"failed": 1}
    assert len(cams.requests) == served
    row = db.scalar(select(CameraSnapshot).where(CameraSnapshot.camera_id == cam["id"]))
    assert row.error == "refused"
