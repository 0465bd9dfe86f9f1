"""The console in a real headless Chromium against a real server process.

One committed world (two offices under a bureau, tests/factories.py) with an
exclusion zone for supervisee "a" and a phone; the server is a real uvicorn
process on a fixed port, restarted mid-session by one test. Every test fails if
any page requested a host other than the app (tests/web/browser.py).
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.settings import Settings
from tests.alerts.test_hub_multiprocess import commit_alert
from tests.conftest import migrated_database
from tests.factories import World, seed_world_with_device
from tests.web.browser import PHONE, AppServer, Browser, app_server, login, screenshot

EXCLUDED = (119.0, 28.9)  # a 300 m exclusion zone for supervisee "a" (WGS-84)


@pytest.fixture(scope="module")
def world_db(server_url: str) -> Iterator[tuple[str, World, str]]:
    with migrated_database(server_url, "zj_web") as url:
        world, secret = seed_world_with_device(url, Settings(), exclusion=EXCLUDED)
        yield url, world, secret


@pytest.fixture(scope="module")
def server(world_db) -> Iterator[AppServer]:
    with app_server(world_db[0]) as s:
        yield s


def ingest_violation(base: str, secret: str, minutes_ago: int = 10, east: float = 0.0) -> None:
    """Three fixes walking into the exclusion zone (``east`` degrees further east: 0.05 is ~5 km away, no alert)."""
    t0 = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    fixes = [{"id": f"web-{uuid.uuid4().hex[:8]}-{i}", "time": (t0 + timedelta(seconds=40 * i)).isoformat(),
              "lon": EXCLUDED[0] + east + 0.0002 * i, "lat": EXCLUDED[1], "accuracy": 20} for i in range(3)]
    r = httpx.post(base + "/ingest/native", headers={"Authorization": f"Bearer {secret}"}, json={"fixes": fixes})
    assert r.status_code == 200, r.text


# When the first alert row is painted, as the officer sees it: the frame after the row
# entered the DOM (Playwright's own polling and round trip are not the officer's wait).
PAINT_WATCH = """() => {
    // The time the first row that was not listed when the watch began is painted.
    const rows = document.querySelector('#alert-rows');
    const listed = new Set([...rows.querySelectorAll('tr.alert-row')].map(r => r.dataset.alertId));
    new MutationObserver((_, obs) => {
        if (![...rows.querySelectorAll('tr.alert-row')].some(r => !listed.has(r.dataset.alertId))) return;
        obs.disconnect();
        requestAnimationFrame(() => { window.__rowPaintedAt = Date.now(); });
    }).observe(rows, { childList: true });
}"""


def row(page, alert_id: int) -> str:
    return f"#alert-rows tr[data-alert-id='{alert_id}']"


def created_ids(page) -> list[int]:
    return page.evaluate("() => window.zhijiao.store.created")


def test_root_redirects_and_docs_work_offline(server: AppServer, browser: Browser) -> None:
    r = httpx.get(server.base + "/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/console/"
    page = browser.context().new_page()
    page.goto(server.base + "/console/")
    assert "default-src 'self'" in httpx.get(server.base + "/console/").headers["content-security-policy"]
    page.wait_for_selector("form#login")
    screenshot(page, "login-desktop")
    page.click("#lang-login")  # English is one click away
    assert page.inner_text("form#login button[type=submit]") == "Log in"
    page.goto(server.base + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20000)
    assert "zhijiao" in page.inner_text(".swagger-ui .info .title")


def test_officer_desk_live_alert_restart_and_other_office(world_db, server: AppServer, browser: Browser) -> None:
    url, world, secret = world_db
    officer = login(browser.context(), server.base, world.users["officer_a"].username, hash_="#/desk")
    other = login(browser.context(), server.base, world.users["officer_b"].username, hash_="#/desk")
    for page in (officer, other):
        page.wait_for_selector("#conn[data-state=live]")

    # The phone reports as phones do (about once a minute) before it walks into the zone: the
    # violation is not the server's first ingest ever, whose one-off cold start (connections,
    # statement caches) is no officer's everyday wait.
    ingest_violation(server.base, secret, minutes_ago=15, east=0.05)
    officer.evaluate(PAINT_WATCH)
    # The desk may already list the office's other alerts (the month-end and reminder jobs
    # raise them for its people at start-up): the violation is the next alert created.
    seen = officer.evaluate("() => window.zhijiao.store.created.length")
    started = time.time()  # wall clock: the page's Date.now() is compared with it
    ingest_violation(server.base, secret)
    answered = time.time()
    officer.wait_for_function(f"() => window.zhijiao.store.created.length > {seen}", timeout=5000)
    alert_id = officer.evaluate(f"() => window.zhijiao.store.created[{seen}]")
    officer.wait_for_selector(row(officer, alert_id), timeout=5000)
    arrived = officer.evaluate("id => window.zhijiao.store.arrived[id]", alert_id) / 1000
    painted = officer.evaluate("() => window.__rowPaintedAt") / 1000
    print(f"\nalert painted in the desk {1000 * (painted - started):.0f} ms after the ingest request was sent"
          f" (ingest answered after {1000 * (answered - started):.0f} ms, the socket delivered it after"
          f" {1000 * (arrived - started):.0f} ms)")
    assert painted - started <= 1.0

    officer.click(row(officer, alert_id))
    officer.wait_for_selector("#evidence-map path.leaflet-interactive")  # fixes + accuracy circles (+ the fence)
    assert officer.locator("#evidence-map path.leaflet-interactive").count() >= 4
    assert officer.inner_text("#distance-outside") != ""
    screenshot(officer, "desk-desktop")
    officer.click("#ack")
    officer.wait_for_function("() => document.querySelector('#detail-state').textContent === '已确认'")
    officer.fill("#note-form input[name=body]", "已电话联系本人")
    officer.click("#note-form button")
    officer.wait_for_selector("#alert-detail li:has-text('已电话联系本人')")
    officer.select_option("#resolve-form select[name=reason]", "police_notified")
    officer.fill("#resolve-form input[name=note]", "劝阻无效，已通知派出所")
    officer.click("#resolve-form button")
    officer.wait_for_function("() => document.querySelector('#detail-state').textContent === '已处置'")

    # The server goes away mid-session; an alert is raised while it is down.
    server.stop()
    officer.wait_for_selector("#conn[data-state=reconnecting]", timeout=10000)
    outage_alert = commit_alert(url, world)  # its outbox event waits for the relay
    server.start()
    officer.wait_for_selector(row(officer, outage_alert), timeout=60000)
    officer.wait_for_selector("#conn[data-state=live]", timeout=60000)
    time.sleep(1)  # anything duplicated would arrive now
    assert officer.locator(row(officer, outage_alert)).count() == 1
    assert created_ids(officer).count(outage_alert) == 1

    # Officer B (another office): nothing of it in the list, the socket or the map.
    other.wait_for_selector("#conn[data-state=live]", timeout=60000)
    # (its own office's alerts may be listed: the month-end and reminder jobs raise them for its people)
    assert other.locator(row(other, alert_id)).count() == 0 and other.locator(row(other, outage_alert)).count() == 0
    assert alert_id not in created_ids(other) and outage_alert not in created_ids(other)
    other.evaluate("() => { location.hash = '#/map' }")
    other.wait_for_selector("#map[data-loaded]")
    assert other.get_attribute("#map", "data-loaded") == "0"


def test_supervisee_asks_for_leave_officer_approves(world_db, server: AppServer, browser: Browser) -> None:
    _, world, _ = world_db
    phone = login(browser.context(viewport=PHONE, is_mobile=True, has_touch=True), server.base,
                  world.users["supervisee_a"].username)
    phone.wait_for_selector("#obligations li")
    assert "禁止区域" not in phone.content()  # never exclusion-zone anything
    phone.fill("#leave-form input[name=reason]", "探望住院的母亲")
    phone.click("#leave-form button")
    phone.wait_for_selector("#my-leave .status-pending")
    screenshot(phone, "supervisee-phone")

    officer = login(browser.context(), server.base, world.users["officer_a"].username, hash_="#/approvals")
    officer.wait_for_selector("#leave-queue tr")
    officer.fill("#leave-queue tr input[name=reason]", "理由充分，准予")
    officer.click("#leave-queue tr button.approve")
    officer.wait_for_function("() => !document.querySelector('#leave-queue tr')")

    phone.evaluate("() => { location.hash = '#/x'; }")  # re-render the page
    phone.wait_for_selector("#my-leave .status-approved")
    assert "已批准" in phone.inner_text("#my-leave")


def test_manager_report_charts_and_downloads(world_db, server: AppServer, browser: Browser) -> None:
    _, world, _ = world_db
    page = login(browser.context(accept_downloads=True), server.base, world.users["manager"].username,
                 hash_="#/approvals")
    page.wait_for_function("() => Chart.getChart('chart-office') && Chart.getChart('chart-month')")
    screenshot(page, "manager-desktop")
    for button, magic in (("#csv", '编号,'.encode()), ("#pdf", b"%PDF")):
        with page.expect_download() as info:
            page.click(button)
        path = info.value.path()
        data = open(path, "rb").read()
        assert data.startswith(magic) or magic in data[:200], (button, data[:80])


def test_map_and_supervisee_page(world_db, server: AppServer, browser: Browser) -> None:
    _, world, _ = world_db
    page = login(browser.context(), server.base, world.users["officer_a"].username, hash_="#/map")
    page.wait_for_selector("#map[data-loaded]")
    assert int(page.get_attribute("#map", "data-loaded")) >= 1  # supervisee "a" has reported
    screenshot(page, "map-desktop")
    page.evaluate("id => { location.hash = '#/supervisee/' + id }", world.supervisees["a"].id)
    page.wait_for_selector("#supervisee-record h2")
    page.wait_for_selector("#supervisee-map path.leaflet-interactive")  # fences and the track
    screenshot(page, "supervisee-desktop")


HOSTILE_LABEL = '请假目的地 <img id="pwned" src="data:,x"><meta http-equiv="refresh" content="0;url=/nowhere">'


def test_fence_labels_are_text_not_markup(server: AppServer, browser: Browser) -> None:
    """A leave destination's label carries the supervisee's own words (its address): a tooltip
    must show them as text. Leaflet puts a string tooltip into innerHTML, where a <meta refresh>
    would carry the officer's console off to a page of the supervisee's choosing."""
    page = browser.context().new_page()
    page.goto(server.base + "/console/")
    page.wait_for_selector("form#login")
    shown = page.evaluate("""async (label) => {
        const { fenceLayer } = await import('/console/static/js/maplib.js');
        const el = document.createElement('div');
        el.style.width = '400px'; el.style.height = '300px';
        document.body.appendChild(el);
        const map = L.map(el).setView([28.95, 118.95], 12);
        const fence = { kind: 'leave', label,
                        current: { geometry: { type: 'Point', coordinates: [118.95, 28.95] }, radius_m: 500 } };
        const layer = fenceLayer(fence).addTo(map);
        layer.openTooltip([28.95, 118.95]);
        const tip = document.querySelector('.leaflet-tooltip');
        return { text: tip ? tip.textContent : null, injected: document.querySelectorAll('#pwned, .leaflet-tooltip meta').length };
    }""", HOSTILE_LABEL)
    assert shown["injected"] == 0
    assert shown["text"] is not None and HOSTILE_LABEL in shown["text"]
    page.wait_for_timeout(300)
    assert page.url.startswith(server.base + "/console/")  # no refresh took the page away
