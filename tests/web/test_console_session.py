"""The console's session, language and 销假, in a real Chromium against a real server process.

- The session ends (the server refuses the token, or the token runs out): the page says so on
  the login form, once, and sends no further requests that fail with 401.
- The English UI: labels change; times are still shown in Asia/Shanghai, whatever the
  browser's own time zone.
- The supervisee reports back (销假) from an approved leave that is under way.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, text

from core.audit import AuditLog
from core.clock import ManualClock
from core.context import Ctx
from core.principal import Principal, RequestContext
from core.settings import Settings
from geo.admin_areas import import_boundary
from geo.boundaries import bundled
from leave import approval, service
from leave.schemas import DestinationIn, LeaveIn
from supervision.models import Jurisdiction
from tests.alerts.test_hub_multiprocess import commit_alert
from tests.conftest import migrated_database
from tests.factories import PASSWORD, World, seed, seed_world_with_device
from tests.web.browser import PHONE, AppServer, Browser, app_server, login, screenshot

HOME = {"longitude": 118.95, "latitude": 28.95, "accuracy": 15}  # inside supervisee a's permitted area


def _ctx(db, user, clock) -> Ctx:
    settings = Settings()
    path = db.scalar(select(Jurisdiction.path).where(Jurisdiction.id == user.jurisdiction_id))
    principal = Principal(user.id, user.username, user.role, user.jurisdiction_id, path, user.supervisee_id,
                          user.token_version)
    return Ctx(db=db, request=RequestContext(principal, source_addr="test"), clock=clock, settings=settings,
               audit=AuditLog(settings.audit.audit_key.encode(), clock))


@pytest.fixture(scope="module")
def world_db(server_url: str) -> Iterator[tuple[str, World, int]]:
    with migrated_database(server_url, "zj_websess") as url:
        world, _ = seed_world_with_device(url, Settings())

        def leave_under_way(db) -> int:
            for code in ("330803", "330802"):  # supervisee a's permitted area: 衢江区 ∪ 柯城区
                import_boundary(db, bundled(code), datum="gcj02")
            # Asked and approved two days ago (the service refuses past departures), departed yesterday.
            now = datetime.now(UTC).replace(microsecond=0)
            then = ManualClock(now - timedelta(days=2))
            leave = service.create_leave(ctx=_ctx(db, world.users["supervisee_a"], then), data=LeaveIn(
                destination=DestinationIn(address="丽水市莲都区", circle={"lon": 119.923, "lat": 28.468, "radius_m": 10_000}),
                reason="照料病重的父亲", depart_at=now - timedelta(days=1), return_at=now + timedelta(days=1)))
            approval.approve_leave(ctx=_ctx(db, world.users["officer_a"], then), leave_id=leave.id, reason="准予")
            return leave.id
        yield url, world, seed(url, leave_under_way)


@pytest.fixture(scope="module")
def server(world_db) -> Iterator[AppServer]:
    with app_server(world_db[0]) as s:
        yield s


def failed_401(page) -> list[str]:
    seen: list[str] = []
    page.on("response", lambda r: seen.append(r.url) if r.status == 401 else None)
    return seen


def test_supervisee_reports_back_from_leave_under_way(world_db, server: AppServer, browser: Browser) -> None:
    _, world, leave_id = world_db
    phone = login(browser.context(viewport=PHONE, is_mobile=True, has_touch=True, geolocation=HOME,
                                  permissions=["geolocation"]), server.base, world.users["supervisee_a"].username)
    item = f"#my-leave li[data-leave-id='{leave_id}']"
    phone.wait_for_selector(f"{item} .status-approved")
    screenshot(phone, "report-back-phone")
    phone.click(f"{item} button.report-back")
    phone.wait_for_selector(f"{item} button.report-back", state="detached", timeout=15000)
    assert "· 销假报到 20" in phone.inner_text(item)  # the report-back time is shown
    officer = httpx.post(server.base + "/auth/login", json={"username": world.users["officer_a"].username,
                                                            "password": PASSWORD}).json()["access_token"]
    leave = httpx.get(f"{server.base}/leave/{leave_id}", headers={"Authorization": f"Bearer {officer}"}).json()
    assert leave["returned_at"] is not None


def test_english_ui_keeps_shanghai_time(world_db, server: AppServer, browser: Browser) -> None:
    url, world, _ = world_db
    alert_id = commit_alert(url, world)
    # A browser in London: the page must still show Shanghai time.
    page = login(browser.context(timezone_id="Europe/London"), server.base, world.users["officer_a"].username,
                 hash_="#/desk")
    page.wait_for_selector(f"#alert-rows tr[data-alert-id='{alert_id}']")
    assert page.inner_text("#nav a[data-route=desk]") == "告警台"
    page.click("#lang")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.inner_text("#nav a[data-route=desk]") == "Alert desk"
    assert page.inner_text("#nav a[data-route=map]") == "Map"
    assert page.inner_text("#logout") == "Log out"
    assert page.inner_text("#lang") == "中文"
    row = page.inner_text(f"#alert-rows tr[data-alert-id='{alert_id}']")
    token = httpx.post(server.base + "/auth/login", json={"username": world.users["officer_a"].username,
                                                          "password": PASSWORD}).json()["access_token"]
    occurred = httpx.get(f"{server.base}/alerts/{alert_id}", headers={"Authorization": f"Bearer {token}"}).json()["occurred_at"]
    shanghai = datetime.fromisoformat(occurred).astimezone(ZoneInfo("Asia/Shanghai"))
    assert shanghai.strftime("%d/%m/%Y, %H:%M:%S") in row, row  # en-GB format, Shanghai wall time
    london = datetime.fromisoformat(occurred).astimezone(ZoneInfo("Europe/London"))
    assert london.strftime("%H:%M") not in row
    screenshot(page, "desk-english-desktop")


def test_session_ended_by_the_server_returns_to_login_once(world_db, server: AppServer, browser: Browser) -> None:
    url, world, _ = world_db
    page = login(browser.context(), server.base, world.users["officer_b"].username, hash_="#/desk")
    page.wait_for_selector("#conn[data-state=live]")
    refused = failed_401(page)
    # The server ends the session (as a password change or 'log out everywhere' does).
    seed(url, lambda db: db.execute(text("UPDATE users SET token_version = token_version + 1 WHERE id = :u"),
                                    {"u": world.users["officer_b"].id}))
    page.evaluate("() => { location.hash = '#/map' }")  # the next request is refused
    page.wait_for_selector("form#login #login-error:has-text('会话已过期，请重新登录')", timeout=15000)
    assert page.get_attribute("#bar", "hidden") is not None  # logged out: no header
    time.sleep(3)  # a loop of 401s would show now
    assert 1 <= len(refused) <= 3, refused
    assert page.locator("form#login").count() == 1


def test_token_running_out_returns_to_login(world_db) -> None:
    url, world, _ = world_db
    short = AppServer(url, env={"ZHIJIAO_ACCESS_TOKEN_MINUTES": "1"})
    short.start()
    b = Browser(short.base)
    try:
        page = login(b.context(), short.base, world.users["officer_a"].username, hash_="#/desk")
        page.wait_for_selector("#conn[data-state=live]")
        refused = failed_401(page)
        started = time.monotonic()
        # The page logs out a little before the token's expiry, so nothing is refused.
        page.wait_for_selector("form#login #login-error:has-text('会话已过期')", timeout=90_000)
        print(f"\nsession expired after {time.monotonic() - started:.0f} s (1-minute tokens)")
        time.sleep(3)
        assert refused == [] and page.locator("form#login").count() == 1
        assert b.foreign == [] and b.errors == []
    finally:
        b.close()
        short.stop()
