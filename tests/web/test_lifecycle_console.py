"""The lawful lifecycle on the console, in a real Chromium against a real server: the daily risk
round proposes a tier move from two imposed 训诫; the officer sees it (with its reasons) and a
pending 训诫 proposal on the 风险与奖惩 page, confirms the tier move with a reason, and finds on
the supervisee's page the risk score as the sum of its named factors, the decided proposal,
the sanctions and the term. An officer of another office sees nothing of it."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.audit import AuditLog
from core.clock import SystemClock
from core.jobs import JobContext
from core.settings import Settings
from risk.compute import run_risk
from sanctions.models import SanctionKind, SanctionStatus
from sanctions.service import add_proposal
from tests.conftest import migrated_database
from tests.factories import PASSWORD, World, seed, seed_world_with_device
from tests.web.browser import AppServer, Browser, app_server, login, screenshot


@pytest.fixture(scope="module")
def world_db(server_url: str) -> Iterator[tuple[str, World]]:
    with migrated_database(server_url, "zj_weblife") as url:
        settings = Settings()
        world, _ = seed_world_with_device(url, settings)

        def record(db) -> dict[str, int]:
            sup = world.supervisees["a"]
            officer = world.users["officer_a"]
            now = datetime.now(UTC)
            for days in (40, 20):
                s = add_proposal(db, sup=sup, kind=SanctionKind.admonition, facts=f"{days} 天前未按时报到",
                                 evidence={}, now=now - timedelta(days=days), proposed_by=officer.id)
                s.status, s.decided_by, s.decided_at = SanctionStatus.imposed, officer.id, now - timedelta(days=days - 1)
                s.decision_reason = "事实清楚"
            add_proposal(db, sup=sup, kind=SanctionKind.warning, facts="两次训诫后再次未按时报到", evidence={},
                         now=now, proposed_by=officer.id)
            db.flush()
            job = JobContext(db=db, now=now, settings=settings, audit=AuditLog(settings.audit.audit_key.encode(), SystemClock()))
            return run_risk(job)
        counts = seed(url, record)
        assert counts["proposals"] >= 1
        yield url, world


@pytest.fixture(scope="module")
def server(world_db) -> Iterator[AppServer]:
    with app_server(world_db[0]) as s:
        yield s


def _token(base: str, world: World, who: str) -> str:
    r = httpx.post(base + "/auth/login", json={"username": world.users[who].username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def _tier(base: str, world: World) -> str:
    return httpx.get(f"{base}/supervisees/{world.supervisees['a'].id}",
                     headers={"Authorization": f"Bearer {_token(base, world, 'officer_a')}"}).json()["tier"]


def test_the_officer_decides_what_the_system_proposes(world_db, server: AppServer, browser: Browser) -> None:
    _, world = world_db
    sid = world.supervisees["a"].id
    assert _tier(server.base, world) == "ordinary"
    page = login(browser.context(), server.base, world.users["officer_a"].username, hash_="#/risk")
    page.wait_for_selector("#pending-tiers li[data-proposal-id]")
    tier = page.inner_text("#pending-tiers li[data-proposal-id]")
    assert "普管 → 严管" in tier and "多次训诫" in tier and "甲一" in tier
    assert "警告" in page.inner_text("#pending-sanctions li[data-sanction-id]")
    screenshot(page, "risk-desktop")

    # Nothing changes without the officer's decision; the decision needs a reason.
    page.fill("#pending-tiers form.decide input[name=reason]", "两次训诫，转严管")
    page.click("#pending-tiers form.decide button[value=confirm]")
    page.wait_for_selector("#pending-tiers li.muted")
    assert _tier(server.base, world) == "strict"

    page.goto(f"{server.base}/console/#/supervisee/{sid}")
    page.wait_for_selector("#risk-card #risk-score")
    # The score is the sum of the factors' points, each factor named with its weight and value.
    score = float(page.inner_text("#risk-score"))
    points = [float(x) for x in page.eval_on_selector_all("#risk-card tbody tr td:last-child", "tds => tds.map(td => td.textContent)")]
    assert points and abs(sum(points) - score) < 0.05 * len(points) + 1e-9
    assert float(page.inner_text("#risk-card tr[data-factor='sanctions'] td:last-child")) > 0
    assert "已确认" in page.inner_text("#tier-card li[data-proposal-id]")
    # The two imposed 训诫 and the 警告 proposed here (the server's own escalation round may
    # have proposed one more from the same two 训诫: two 训诫 → 警告).
    assert len(page.query_selector_all("#sanctions-card li[data-sanction-id]")) >= 3
    assert "在矫" in page.inner_text("#lifecycle-card")
    page.locator("#risk-card").scroll_into_view_if_needed()
    screenshot(page, "supervisee-lifecycle-desktop")


def test_another_office_sees_no_proposal(world_db, server: AppServer, browser: Browser) -> None:
    _, world = world_db
    page = login(browser.context(), server.base, world.users["officer_b"].username, hash_="#/risk")
    page.wait_for_selector("#pending-tiers li.muted")
    page.wait_for_selector("#pending-sanctions li.muted")
    assert page.query_selector("[data-proposal-id], [data-sanction-id]") is None
    # Office A's proposals (the tier one decided, the 警告 still pending) are not office B's to see or
    # decide: the answers are those of ids that do not exist.
    a = {"Authorization": f"Bearer {_token(server.base, world, 'officer_a')}"}
    b = {"Authorization": f"Bearer {_token(server.base, world, 'officer_b')}"}
    sid = world.supervisees["a"].id
    [tier] = httpx.get(f"{server.base}/supervisees/{sid}/tier-proposals", headers=a).json()["items"]
    pending = httpx.get(f"{server.base}/sanctions?pending=true", headers=a).json()["items"]
    assert pending
    body = {"decision": "reject", "reason": "越权"}
    missing = httpx.post(f"{server.base}/sanctions/999999999/decide", json=body, headers=b)
    assert missing.status_code == 404
    other = httpx.post(f"{server.base}/sanctions/{pending[0]['id']}/decide", json=body, headers=b)
    assert (other.status_code, other.content) == (404, missing.content)
    assert httpx.post(f"{server.base}/tier-proposals/{tier['id']}/decide", json=body, headers=b).status_code == 404
    assert httpx.get(f"{server.base}/supervisees/{sid}/tier-proposals", headers=b).status_code == 404
    assert httpx.get(f"{server.base}/supervisees/{sid}/risk", headers=b).status_code == 404
