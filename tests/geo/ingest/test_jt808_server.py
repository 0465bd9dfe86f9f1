"""The JT/T 808 listener inside a real server process (lifespan), with a device made through REST."""
from __future__ import annotations

import httpx
import pytest

from core.settings import Settings
from tests.conftest import migrated_database
from datetime import UTC, datetime, timedelta

from tests.factories import add_bureau_head, add_positioning_order, seed, seed_world_with_device
from tests.geo.ingest import jt808_frames as jf
from tests.geo.ingest.jt808_terminal import Terminal, ago
from tests.servers import free_port, start_server


@pytest.fixture(scope="module")
def served(server_url):
    with migrated_database(server_url, "zj_jt808srv") as url:
        world, _ = seed_world_with_device(url, Settings())
        # A wristband's fixes are stored only under an electronic-positioning order (Law art. 29):
        # supervisee a has one in force; a2 has none.
        now = datetime.now(UTC)
        seed(url, lambda db: add_positioning_order(
            db, world.supervisees["a"], starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=30),
            proposed_by=world.users["officer_a"], approved_by=add_bureau_head(db, world.bureau, "head-jt808")))
        port = free_port()
        proc, base = start_server(url, ZHIJIAO_JT808_ENABLED="true", ZHIJIAO_JT808_PORT=str(port))
        try:
            yield url, base, port, world
        finally:
            proc.terminate()
            proc.wait(10)


def test_officer_registers_a_wristband_and_it_reports_until_the_secret_is_rotated(served):
    url, base, port, world = served
    officer = world.auth("officer_a")
    r = httpx.post(base + "/devices", headers=officer, json={
        "supervisee_id": world.supervisees["a"].id, "name": "腕带", "kind": "tracker", "protocol": "jt808",
        "jt808_phone": "013912340000", "jt808_terminal_id": "t000001"})
    assert r.status_code == 201, r.text
    device = r.json()
    assert device["jt808_phone"] == "13912340000"  # the BCD padding zero is not part of the identifier
    assert device["jt808_terminal_id"] == "T000001"
    t = Terminal(port, "13912340000", device["id"], url).connect()
    old_code = t.login()
    assert old_code != device["secret"]  # the secret never goes on the wire
    serial = t.send(0x0200, jf.location(ago(2), 28.95, 118.95))
    assert t.general() == (serial, 0x0200, 0) and t.fixes() == 1
    assert t.count("SELECT count(*) FROM fixes WHERE device_id = %(d)s AND purpose LIKE 'order:%%'") == 1
    # Rotating the secret changes the auth code and re-opens registration.
    r = httpx.patch(f"{base}/devices/{device['id']}", headers=officer, json={"rotate_secret": True})
    assert r.status_code == 200
    stale = Terminal(port, "13912340000", device["id"], url).connect()
    assert stale.authenticate(old_code) == 1
    fresh = Terminal(port, "13912340000", device["id"], url).connect()
    assert fresh.login() != old_code


def test_jt808_phone_is_required_for_jt808_and_unique(served):
    url, base, port, world = served
    officer = world.auth("officer_a")
    body = {"supervisee_id": world.supervisees["a"].id, "name": "腕带", "kind": "tracker", "protocol": "jt808",
            "jt808_terminal_id": "WB20001"}
    assert httpx.post(base + "/devices", headers=officer, json=body).status_code == 422
    no_id = {k: v for k, v in body.items() if k != "jt808_terminal_id"}
    assert httpx.post(base + "/devices", headers=officer, json={**no_id, "jt808_phone": "13912347777"}).status_code == 422
    assert httpx.post(base + "/devices", headers=officer, json={**body, "jt808_phone": "13912349999"}).status_code == 201
    assert httpx.post(base + "/devices", headers=officer, json={**body, "jt808_phone": "13912349999"}).status_code == 409
    native = {**no_id, "protocol": "native", "jt808_phone": "13912348888"}
    assert httpx.post(base + "/devices", headers=officer, json=native).status_code == 422


def test_a_wristband_without_an_order_in_force_is_refused_with_the_protocol_failure(served):
    url, base, port, world = served
    r = httpx.post(base + "/devices", headers=world.auth("officer_a"), json={
        "supervisee_id": world.supervisees["a2"].id, "name": "腕带", "kind": "wristband", "protocol": "jt808",
        "jt808_phone": "13912345555", "jt808_terminal_id": "T000001"})
    assert r.status_code == 201, r.text
    t = Terminal(port, "13912345555", r.json()["id"], url).connect()
    t.login()
    serial = t.send(0x0200, jf.location(ago(2), 28.95, 118.95))
    # 0x8001 result 1 (failure): nothing stored, and the terminal may keep its connection.
    assert t.general() == (serial, 0x0200, 1) and t.fixes() == 0
