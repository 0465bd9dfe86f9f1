"""The administrator's console page, in a real Chromium against a real server: an office whose
cameras went offline is a notice at the top and a marked row in the camera-health table; the
other office's row is there unmarked. (Before this page an admin's login found no page at all.)"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cameras.health import evaluate_office
from cameras.health_models import CameraHealth
from cameras.models import Camera
from core.audit import AuditLog
from core.clock import SystemClock
from core.jobs import JobContext
from core.settings import Settings
from tests.conftest import migrated_database
from tests.factories import World, seed, seed_world_with_device
from tests.web.browser import AppServer, Browser, app_server, login, screenshot


def _camera(db, office, n: int, state: str, now: datetime) -> None:
    lon, lat = 118.95 + n * 0.001, 28.95
    cam = Camera(code=f"33080300001310{office.id:03d}{n:03d}", name=f"村口 {n}", lon=lon, lat=lat,
                 geog=f"SRID=4326;POINT({lon} {lat})", source_datum="wgs84", heading=90, fov=90, range_m=80,
                 stream_url=f"http://127.0.0.{n + 1}:9/still.jpg", jurisdiction_id=office.id)
    db.add(cam)
    db.flush()
    db.add(CameraHealth(camera_id=cam.id, state=state, state_since=now, next_probe_at=now, last_probe_at=now,
                        consecutive_failures=3 if state == "offline" else 0))


@pytest.fixture(scope="module")
def world_db(server_url: str) -> Iterator[tuple[str, World]]:
    with migrated_database(server_url, "zj_webadmin") as url:
        settings = Settings()
        world, _ = seed_world_with_device(url, settings)

        def outage(db) -> None:
            now = datetime.now(UTC)
            for n, state in enumerate(("offline", "offline", "online")):
                _camera(db, world.office_a, n, state, now)
            _camera(db, world.office_b, 7, "online", now)
            db.flush()
            job = JobContext(db=db, now=now, settings=settings, audit=AuditLog(settings.audit.audit_key.encode(), SystemClock()))
            assert evaluate_office(job, world.office_a.id) is not None
        seed(url, outage)
        yield url, world


@pytest.fixture(scope="module")
def server(world_db) -> Iterator[AppServer]:
    with app_server(world_db[0]) as s:
        yield s


def test_the_admin_sees_the_outage_notice_and_the_health_table(world_db, server: AppServer, browser: Browser) -> None:
    _, world = world_db
    page = login(browser.context(), server.base, world.users["admin"].username)
    page.wait_for_selector("#admin-notices li[data-kind='camera_outage']")
    notice = page.inner_text("#admin-notices li[data-kind='camera_outage']")
    assert "2 of 3" in notice and world.office_a.name in notice
    a = f"#camera-health tr[data-jurisdiction-id='{world.office_a.id}']"
    b = f"#camera-health tr[data-jurisdiction-id='{world.office_b.id}']"
    page.wait_for_selector(a)
    assert "outage" in page.get_attribute(a, "class") and "67%" in page.inner_text(a)
    assert "outage" not in (page.get_attribute(b, "class") or "") and "0%" in page.inner_text(b)
    assert page.inner_text("#nav") == "系统管理"
    screenshot(page, "admin-desktop")
