"""Check-ins in the console, in a real Chromium against a real server: a supervisee on a
360 px phone answers a spot check with the camera inputs and the browser's position, and
the officer sees the entry in the review queue with both photos and decides it."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from tests.conftest import migrated_database
from tests.factories import PASSWORD, World, seed_world_with_device
from tests.web.browser import PHONE, AppServer, Browser, app_server, login, screenshot

FACES = Path(__file__).resolve().parent.parent / "data" / "faces"
HOME = {"longitude": 118.95, "latitude": 28.95, "accuracy": 18}  # inside supervisee a's permitted area


@pytest.fixture(scope="module")
def world_db(server_url: str) -> Iterator[tuple[str, World]]:
    with migrated_database(server_url, "zj_web_checkin") as url:
        world, _ = seed_world_with_device(url, Settings())
        yield url, world


@pytest.fixture(scope="module")
def server(world_db) -> Iterator[AppServer]:
    with app_server(world_db[0]) as s:
        yield s


def officer_api(base: str, world: World) -> httpx.Client:
    token = httpx.post(base + "/auth/login", json={"username": world.users["officer_a"].username,
                                                   "password": PASSWORD}).json()["access_token"]
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def test_supervisee_checks_in_on_the_phone_and_the_officer_reviews_the_photos(world_db, server, browser) -> None:
    _, world = world_db
    sid = world.supervisees["a"].id
    with officer_api(server.base, world) as officer:
        files = [("photos", (f"ref{i}.jpg", (FACES / f"person-a-{n}.jpg").read_bytes(), "image/jpeg"))
                 for i, n in enumerate((2, 3))]
        assert officer.post(f"/supervisees/{sid}/face-enrolment", files=files).status_code == 201

    # The officer issues the spot check from the supervisee's page.
    desk = login(browser.context(), server.base, world.users["officer_a"].username, hash_=f"#/supervisee/{sid}")
    desk.click("#spot-check")
    desk.wait_for_selector("#toast.show")

    phone = login(browser.context(viewport=PHONE, is_mobile=True, has_touch=True, geolocation=HOME,
                                  permissions=["geolocation"]), server.base, world.users["supervisee_a"].username)
    phone.wait_for_selector("#due-checkins li[data-occurrence-id] .start-checkin")
    phone.click("#due-checkins .start-checkin")
    phone.wait_for_selector("#checkin .where:has-text('±18 m')")
    prompt = phone.inner_text("#checkin .prompt")
    assert "请" in prompt, prompt  # the challenge's zh-CN prompt
    # The same photograph for both: the liveness check cannot pass, so it goes to review.
    photo = str(FACES / "person-a-1.jpg")
    phone.set_input_files("#checkin input[name=neutral]", photo)
    phone.set_input_files("#checkin input[name=challenge]", photo)
    screenshot(phone, "checkin-phone")
    phone.click("#checkin .checkin-form button.primary")
    phone.wait_for_selector("#checkin .result[data-status]")
    # The supervisee is told only that it was received, never the judgement.
    assert phone.get_attribute("#checkin .result", "data-status") == "received"
    assert phone.inner_text("#checkin .result") == "已提交，工作人员将核查"
    assert "match" not in phone.inner_text("#checkin")  # the face judgement is the officer's

    desk.evaluate("() => { location.hash = '#/checkins' }")
    desk.wait_for_selector("#review-queue .ledger-entry")
    # Both photos decoded from the scoped photo route (blob URLs, token in a header).
    desk.wait_for_function("() => [...document.querySelectorAll('#review-queue img.checkin-photo')]"
                           ".filter((i) => i.complete && i.naturalWidth > 0).length === 2")
    assert "same photo" in desk.inner_text("#review-queue")
    screenshot(desk, "checkin-review-desktop")
    desk.fill("#review-queue input[name=reason]", "本人到所核实，系重复上传")
    desk.click("#review-queue button.overturn")
    desk.wait_for_function("() => !document.querySelector('#review-queue .ledger-entry')")

    # The history on the supervisee's page shows the submission and its photos.
    desk.evaluate("id => { location.hash = '#/supervisee/' + id }", sid)
    desk.wait_for_selector("#checkin-history li[data-occurrence-id] img.checkin-photo")
    desk.locator("#checkin-history").scroll_into_view_if_needed()
    screenshot(desk, "checkin-history-desktop")


def test_manager_sees_the_compliance_table(world_db, server, browser) -> None:
    _, world = world_db
    page = login(browser.context(), server.base, world.users["manager"].username, hash_="#/checkins")
    page.wait_for_selector("#compliance table")
    page.wait_for_selector("#review-queue li")
    assert "各司法所报到情况" in page.inner_text("#compliance")
    screenshot(page, "checkin-manager-desktop")


def test_a_clean_check_in_passes_and_the_phone_says_only_received(world_db, server, browser) -> None:
    """The same person, the head turned as asked: the check-in passes, and the phone says
    exactly what it says for one that goes to review (the judgement is the officer's)."""
    _, world = world_db
    sid = world.supervisees["a"].id
    with officer_api(server.base, world) as officer:
        files = [("photos", (f"ref{i}.jpg", (FACES / f"person-a-{n}.jpg").read_bytes(), "image/jpeg"))
                 for i, n in enumerate((2, 3))]
        assert officer.post(f"/supervisees/{sid}/face-enrolment", files=files).status_code == 201
        spot = officer.post("/checkins/spot-checks", json={"supervisee_id": sid}).json()

        phone = login(browser.context(viewport=PHONE, is_mobile=True, has_touch=True, geolocation=HOME,
                                      permissions=["geolocation"]), server.base, world.users["supervisee_a"].username)
        item = f"#due-checkins li[data-occurrence-id='{spot['id']}']"
        # a-2 is a-1's person with the head turned: wait for a turn challenge (each start asks for a new one).
        for _ in range(30):
            phone.click(f"{item} .start-checkin")
            phone.wait_for_selector(f"{item} .prompt")
            if "转头" in phone.inner_text(f"{item} .prompt"):
                break
            phone.evaluate("() => { location.hash = '#/x' }")  # the page again, a fresh start
            phone.wait_for_selector(f"{item} .start-checkin")
        else:
            raise AssertionError("never a turn challenge")
        phone.wait_for_selector(f"{item} .where:has-text('±18 m')")
        phone.set_input_files(f"{item} input[name=neutral]", str(FACES / "person-a-1.jpg"))
        phone.set_input_files(f"{item} input[name=challenge]", str(FACES / "person-a-2.jpg"))
        phone.click(f"{item} .checkin-form button.primary")
        phone.wait_for_selector(f"{item} .result[data-status]")
        assert phone.get_attribute(f"{item} .result", "data-status") == "received"
        assert phone.inner_text(f"{item} .result") == "已提交，工作人员将核查"
        assert "passed" not in phone.content() and "通过" not in phone.inner_text(item)
        screenshot(phone, "checkin-passed-phone")

        history = officer.get(f"/checkins/history?supervisee_id={sid}").json()["items"]
        [mine] = [h for h in history if h["id"] == spot["id"]]
        assert mine["submission"]["outcome"] == "passed", mine
