"""Cameras on the console, in a real Chromium against a real server and a real (loopback) camera:
a violation in front of a camera gives an alert whose detail shows the camera (its sector on
the evidence map) and the frame grabbed from it; the map draws the cameras and their sectors
from zoom 14; the cameras page lists them with their health. Another office sees none of it."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cameras.models import Camera
from cameras.snapshots import grab_pending
from core.audit import AuditLog
from core.clock import SystemClock
from core.jobs import JobContext
from core.settings import Settings
from tests.cameras_fixture import camera_servers
from tests.conftest import migrated_database
from tests.factories import World, seed, seed_world_with_device
from tests.web.browser import AppServer, Browser, app_server, login, screenshot
from tests.web.test_console import EXCLUDED, ingest_violation
from video.capture import GrabPool

FACE = Path(__file__).resolve().parent.parent / "data" / "faces" / "person-a-1.jpg"
# ~50 m east of the zone's centre, looking west at it (tests/cameras/test_evidence.py's SEES).
SEES = dict(lon=EXCLUDED[0] + 0.000514, lat=EXCLUDED[1], heading=270.0, fov=60.0, range_m=120.0)


@pytest.fixture(scope="module")
def cams():
    with camera_servers(images=[FACE]) as servers:
        yield servers


@pytest.fixture(scope="module")
def world_db(server_url: str, cams) -> Iterator[tuple[str, World, str, int]]:
    with migrated_database(server_url, "zj_webcams") as url:
        world, secret = seed_world_with_device(url, Settings(), exclusion=EXCLUDED)

        def camera(db) -> int:
            cam = Camera(code="33080300001310000777", name="村口东", source_datum="wgs84", height_m=4.0,
                         geog=f"SRID=4326;POINT({SEES['lon']} {SEES['lat']})", stream_url=cams.still,
                         jurisdiction_id=world.office_a.id, status="active", **SEES)
            db.add(cam)
            db.flush()
            return cam.id
        yield url, world, secret, seed(url, camera)


@pytest.fixture(scope="module")
def server(world_db) -> Iterator[AppServer]:
    with app_server(world_db[0]) as s:
        yield s


def _grab_frames(url: str) -> dict[str, int]:
    """The snapshot job's round, run here (the test server has no scheduler), loopback allowed."""
    settings = Settings()
    settings.cameras.camera_networks = ["127.0.0.0/8"]
    pool = GrabPool(workers=1, deadline_s=10.0, max_queue=4)
    try:
        return seed(url, lambda db: grab_pending(JobContext(db=db, now=datetime.now(UTC), settings=settings,
                                                            audit=AuditLog(settings.audit.audit_key.encode(), SystemClock())),
                                                 pool=pool))
    finally:
        pool.close()


def test_alert_camera_evidence_map_cameras_and_the_cameras_page(world_db, server: AppServer, browser: Browser) -> None:
    url, world, secret, camera_id = world_db
    ingest_violation(server.base, secret)
    assert _grab_frames(url) == {"done": 1}

    page = login(browser.context(), server.base, world.users["officer_a"].username)
    page.wait_for_selector("tr.alert-row")
    page.click("tr.alert-row")
    figure = f"#alert-cameras figure[data-camera-id='{camera_id}']"
    page.wait_for_selector(f"{figure} img.frame")
    # The frame is a real JPEG from the camera, shown from a blob URL (the token never in a URL).
    assert page.eval_on_selector(f"{figure} img.frame", "img => img.complete && img.naturalWidth > 0") is True
    assert page.eval_on_selector(f"{figure} img.frame", "img => img.src.startsWith('blob:')") is True
    assert "村口东" in page.inner_text(figure) and "50 m" in page.inner_text(figure)
    # The sector on the evidence map: its apex at the camera.
    sectors = page.eval_on_selector("#evidence-map", "el => el.querySelectorAll('path.leaflet-interactive').length")
    assert sectors >= 3  # the fixes' accuracy circles, the fence, and the camera's sector
    page.locator(figure).scroll_into_view_if_needed()
    screenshot(page, "desk-camera-evidence-desktop")

    # The map: no cameras at the county's zoom; from zoom 14, the one in view with its sector.
    page.click("#nav a[data-route='map']")
    page.wait_for_selector("#map[data-loaded]")
    page.check("#show-cameras")
    page.wait_for_function("document.querySelector('#camera-count').textContent.length > 0")
    assert page.get_attribute("#map", "data-cameras") == ""
    page.evaluate(f"document.querySelector('#map').leafletMap.setView([{SEES['lat']}, {SEES['lon']}], 16, {{animate: false}})")
    page.wait_for_selector("#map[data-cameras='1']")
    screenshot(page, "map-cameras-desktop")

    # The cameras page: health per office, the camera in scope.
    page.click("#nav a[data-route='cameras']")
    page.wait_for_selector(f"#camera-rows tr[data-camera-id='{camera_id}']")
    page.wait_for_selector(f"#camera-offices tr[data-jurisdiction-id='{world.office_a.id}']")
    # A frame on demand: the page asks, the snapshot job grabs, the page shows it.
    page.click(f"#camera-rows tr[data-camera-id='{camera_id}'] button.grab")
    page.wait_for_selector("#camera-frame p")
    assert _grab_frames(url) == {"done": 1}
    page.wait_for_selector("#camera-frame img.frame", timeout=15_000)
    assert page.eval_on_selector("#camera-frame img.frame", "img => img.complete && img.naturalWidth > 0") is True
    screenshot(page, "cameras-desktop")


def test_another_office_sees_no_camera_and_no_frame(world_db, server: AppServer, browser: Browser) -> None:
    _, world, _, camera_id = world_db
    page = login(browser.context(), server.base, world.users["officer_b"].username, hash_="#/cameras")
    page.wait_for_selector("#cameras-none:not([hidden])")
    assert page.query_selector_all("#camera-rows tr") == []
    assert page.query_selector(f"[data-camera-id='{camera_id}']") is None
