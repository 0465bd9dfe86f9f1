"""Cameras on the console, in a real Chromium against a real server and a real (loopback) camera:
a violation in front of a camera gives an alert whose detail shows the camera (its sector on
the evidence map) and the frame grabbed from it; the map draws the cameras and their sectors
from zoom 14; the cameras page lists them with their health. Another office sees none of it."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sqlalchemy import select

from cameras.models import Camera, CameraSnapshot
from core.settings import Settings
from tests.cameras_fixture import camera_servers
from tests.conftest import migrated_database
from tests.factories import PASSWORD, World, seed, seed_world_with_device
from tests.video.faces import photo
from tests.web.browser import PHONE, AppServer, Browser, login, screenshot
from tests.web.test_console import EXCLUDED, ingest_violation

FACE = Path(__file__).resolve().parent.parent / "data" / "faces" / "person-a-1.jpg"
# ~50 m east of the zone's centre, looking west at it (tests/cameras/test_evidence.py's SEES).
SEES = dict(lon=EXCLUDED[0] + 0.000514, lat=EXCLUDED[1], heading=270.0, fov=60.0, range_m=120.0)
# ~600 m west, looking away from the zone, and hung (accepts, never answers): a roll-call there waits.
HUNG = dict(lon=EXCLUDED[0] - 0.0062, lat=EXCLUDED[1], heading=270.0, fov=90.0, range_m=80.0)


@pytest.fixture(scope="module")
def cams():
    with camera_servers(images=[FACE]) as servers:
        yield servers


@pytest.fixture(scope="module")
def world_db(server_url: str, cams) -> Iterator[tuple[str, World, str, int, int]]:
    with migrated_database(server_url, "zj_webcams") as url:
        world, secret = seed_world_with_device(url, Settings(), exclusion=EXCLUDED)

        def camera(db, code: str, name: str, url: str, where: dict) -> int:
            cam = Camera(code=code, name=name, source_datum="wgs84", height_m=4.0,
                         geog=f"SRID=4326;POINT({where['lon']} {where['lat']})", stream_url=url,
                         jurisdiction_id=world.office_a.id, status="active", **where)
            db.add(cam)
            db.flush()
            return cam.id
        sees = seed(url, lambda db: camera(db, "33080300001310000777", "村口东", cams.still, SEES))
        hung = seed(url, lambda db: camera(db, "33080300001310000778", "村口西", cams.black_hole, HUNG))
        yield url, world, secret, sees, hung


# The server's own snapshot job grabs the frames: loopback is a camera network here (only
# here: by default it is refused), and the job looks every second instead of every 5 s.
CAMERA_ENV = {"ZHIJIAO_CAMERA_NETWORKS": '["127.0.0.0/8"]', "ZHIJIAO_CAMERA_SNAPSHOT_SECONDS": "1",
              "ZHIJIAO_ROLLCALL_CHECK_SECONDS": "1", "ZHIJIAO_ROLLCALL_FRAME_INTERVAL_SECONDS": "0"}


@pytest.fixture(scope="module")
def server(world_db) -> Iterator[AppServer]:
    s = AppServer(world_db[0], env=CAMERA_ENV)
    s.start()
    try:
        yield s
    finally:
        s.stop()


def test_alert_camera_evidence_map_cameras_and_the_cameras_page(world_db, server: AppServer, browser: Browser) -> None:
    _, world, secret, camera_id, _ = world_db
    ingest_violation(server.base, secret)

    page = login(browser.context(), server.base, world.users["officer_a"].username)
    page.wait_for_selector("tr.alert-row")
    page.click("tr.alert-row")
    figure = f"#alert-cameras figure[data-camera-id='{camera_id}']"
    page.wait_for_selector(f"{figure} img.frame", timeout=30_000)  # the desk looks again while it is pending
    # The frame is a real JPEG from the camera, shown from a blob URL (the token never in a URL).
    assert page.eval_on_selector(f"{figure} img.frame", "img => img.complete && img.naturalWidth > 0") is True
    assert page.eval_on_selector(f"{figure} img.frame", "img => img.src.startsWith('blob:')") is True
    assert "村口东" in page.inner_text(figure) and "50 m" in page.inner_text(figure)
    # The sector on the evidence map: its apex at the camera.
    assert len(page.query_selector_all("#evidence-map path.camera-sector")) == 1
    page.locator(figure).scroll_into_view_if_needed()
    screenshot(page, "desk-camera-evidence-desktop")

    # The map: no cameras at the county's zoom; from zoom 14, the one in view with its sector.
    page.click("#nav a[data-route='map']")
    page.wait_for_selector("#map[data-loaded]")
    page.check("#show-cameras")
    page.wait_for_selector("#camera-count:not(:empty)")
    assert page.get_attribute("#map", "data-cameras") == ""
    page.evaluate(f"document.querySelector('#map').leafletMap.setView([{SEES['lat']}, {SEES['lon']}], 16, {{animate: false}})")
    page.wait_for_selector("#map[data-cameras='2']")  # both are in a zoom-16 view
    screenshot(page, "map-cameras-desktop")

    # The cameras page: health per office, the camera in scope.
    page.click("#nav a[data-route='cameras']")
    page.wait_for_selector(f"#camera-rows tr[data-camera-id='{camera_id}']")
    page.wait_for_selector(f"#camera-offices tr[data-jurisdiction-id='{world.office_a.id}']")
    # A frame on demand: the page asks, the snapshot job grabs, the page shows it.
    page.click(f"#camera-rows tr[data-camera-id='{camera_id}'] button.grab")
    page.wait_for_selector("#camera-frame p")
    page.wait_for_selector("#camera-frame img.frame", timeout=30_000)
    assert page.eval_on_selector("#camera-frame img.frame", "img => img.complete && img.naturalWidth > 0") is True
    screenshot(page, "cameras-desktop")


def test_another_office_sees_no_camera_and_no_frame(world_db, server: AppServer, browser: Browser) -> None:
    url, world, _, camera_id, _ = world_db
    page = login(browser.context(), server.base, world.users["officer_b"].username, hash_="#/cameras")
    page.wait_for_selector("#cameras-none:not([hidden])")
    assert page.query_selector_all("#camera-rows tr") == []
    assert page.query_selector(f"[data-camera-id='{camera_id}']") is None
    # The grabs themselves (the alert's, and the one asked for on the cameras page) and their
    # frames answer another office exactly like ids that do not exist.
    snaps = seed(url, lambda db: list(db.scalars(select(CameraSnapshot.id).where(CameraSnapshot.camera_id == camera_id))))
    assert len(snaps) >= 2
    b = {"Authorization": f"Bearer {_token(server.base, world.users['officer_b'].username)}"}
    a = {"Authorization": f"Bearer {_token(server.base, world.users['officer_a'].username)}"}
    missing = httpx.get(f"{server.base}/camera-snapshots/999999999", headers=b)
    assert missing.status_code == 404
    for sid in snaps:
        assert httpx.get(f"{server.base}/camera-snapshots/{sid}", headers=a).status_code == 200
        other = httpx.get(f"{server.base}/camera-snapshots/{sid}", headers=b)
        assert (other.status_code, other.content) == (404, missing.content)
        assert httpx.get(f"{server.base}/camera-snapshots/{sid}/frames/0", headers=b).status_code == 404


def _token(base: str, username: str) -> str:
    r = httpx.post(base + "/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_a_remote_rollcall_from_the_console_to_the_phone_and_back(world_db, server: AppServer, browser: Browser) -> None:
    """远程点名: the officer picks a camera near the phone; the server's roll-call job grabs it (the
    enrolled person's photograph) → match; the officer sees the frame and confirms with a reason.
    A roll-call at the hung camera waits, and the phone says where to go, what to do, until when."""
    _, world, secret, camera_id, hung_id = world_db
    sid = world.supervisees["a"].id
    ingest_violation(server.base, secret, minutes_ago=2)  # the phone's last position: in front of the camera
    files = [("photos", (f"ref{i}.jpg", photo(n), "image/jpeg")) for i, n in enumerate(("a-2", "a-3"))]
    r = httpx.post(f"{server.base}/supervisees/{sid}/face-enrolment", files=files,
                   headers={"Authorization": f"Bearer {_token(server.base, world.users['officer_a'].username)}"})
    assert r.status_code == 201, r.text

    officer = login(browser.context(), server.base, world.users["officer_a"].username, hash_=f"#/supervisee/{sid}")

    names = {camera_id: "村口东", hung_id: "村口西"}

    def start(camera: int) -> None:
        officer.click("#rollcall-offer")
        officer.wait_for_selector(f"#rollcall-form select option[value='{camera}']", state="attached")
        officer.select_option("#rollcall-form select", str(camera))
        officer.click("#rollcall-form button.primary")
        officer.wait_for_selector(f"#rollcalls li[data-rollcall-id] >> text={names[camera]}")

    start(camera_id)
    item = "#rollcalls li.state-done"
    officer.wait_for_selector(item, timeout=30_000)  # the card looks again while one is waiting
    assert "人脸一致" in officer.inner_text(item)
    officer.click(f"{item} button.show-frames")
    officer.wait_for_selector(f"{item} img.frame")
    assert officer.eval_on_selector(f"{item} img.frame", "img => img.complete && img.naturalWidth > 0") is True
    officer.locator(f"{item} img.frame").scroll_into_view_if_needed()
    screenshot(officer, "rollcall-desktop")
    officer.fill(f"{item} form.decide input[name=reason]", "本人在摄像头前，人脸一致")
    officer.click(f"{item} form.decide button[value=confirmed]")
    officer.wait_for_selector(f"{item} p.muted:has-text('本人在摄像头前')")

    start(hung_id)
    officer.wait_for_selector("#rollcalls li.state-waiting")

    phone = login(browser.context(viewport=PHONE), server.base, world.users["supervisee_a"].username)
    phone.wait_for_selector("#my-rollcalls:not([hidden]) p.prompt")
    prompt = phone.inner_text("#my-rollcalls p.prompt")
    assert "村口西" in prompt and "截止" in prompt and "村口东" not in phone.inner_text("#my-rollcalls")
    screenshot(phone, "rollcall-phone")
