"""A batch of MQTT messages through the pipeline, without a broker: what is stored,
what is refused (and audited), and that one device's refusal spares the others."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.audit import AuditLog
from core.audit.log import AuditEntry
from core.security import broker_password_hash
from geo.fences.cache import FenceCache
from geo.ingest.models import Fix
from geo.ingest.mqtt.broker_files import BrokerDevice, hash_matches, ingest_hash, render
from geo.ingest.mqtt.consume import MqttMessage, device_of, ingest_messages
from supervision.models import Device
from tests.factories import add_device, add_fence, add_supervisee
from tests.geo.ingest.conftest import HOME, QUJIANG_WGS84


def _location(t, lon=HOME[0], lat=HOME[1]) -> bytes:
    return json.dumps({"_type": "location", "lat": lat, "lon": lon, "tst": int(t.timestamp()), "acc": 10}).encode()


@pytest.fixture
def run(db, settings, clock):
    audit = AuditLog(settings.audit.audit_key.encode(), clock)
    cache = FenceCache()
    return lambda messages: ingest_messages(db, messages, now=clock.now(), settings=settings, fences=cache,
                                            audit=audit)


@pytest.fixture
def phone(db, settings, world):
    """A supervisee in 衢江区 with an OwnTracks device ``owntracks/<user>/phone``."""

    def make(user: str):
        sup = add_supervisee(db, settings, world.office_a, world.users["officer_a"], f"MQTT{user}", *HOME)
        add_fence(db, sup, "permitted", QUJIANG_WGS84)
        add_device(db, settings, sup, "owntracks", owntracks_user=user, owntracks_device="phone")
        return sup

    return make


def _refusals(db) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == "ingest.mqtt")))


def test_topics():
    assert device_of("owntracks/jane/phone") == ("jane", "phone")
    for bad in ("owntracks/jane", "owntracks/jane/phone/event", "other/jane/phone", "owntracks//phone"):
        assert device_of(bad) is None


def test_a_batch_of_several_devices_with_refusals(db, run, settings, clock, phone):
    jane = phone("jane")
    li = phone("li")
    t = clock.now() - timedelta(minutes=10)
    outcome = run([
        MqttMessage("owntracks/jane/phone", _location(t)),
        MqttMessage("owntracks/li/phone", _location(t)),
        MqttMessage("owntracks/li/phone", b"{not json"),
        MqttMessage("owntracks/ghost/phone", _location(t)),
        MqttMessage("owntracks/jane/phone", json.dumps({"_type": "transition", "event": "leave"}).encode()),
        MqttMessage("owntracks/jane/phone", _location(t + timedelta(minutes=1))),
    ])
    assert (outcome.messages, outcome.stored, outcome.refused) == (6, 3, 2)
    stored = {(f.supervisee_id, f.t) for f in db.scalars(select(Fix).where(Fix.protocol == "owntracks"))}
    assert stored == {(jane.id, t), (jane.id, t + timedelta(minutes=1)), (li.id, t)}
    refusals = _refusals(db)
    assert sorted(r.detail["topic"] for r in refusals) == ["owntracks/ghost/phone", "owntracks/li/phone"]
    assert all(r.outcome == "refused" for r in refusals)


def test_a_refused_device_batch_is_rolled_back_alone(db, run, clock, phone):
    jane = phone("jane")
    li = phone("li")
    t = clock.now() - timedelta(minutes=10)
    run([MqttMessage("owntracks/li/phone", _location(t))])
    # The same time with another position is a conflicting fix: li's batch is
    # refused (409 over HTTP); jane's, in the same transaction, is stored.
    outcome = run([MqttMessage("owntracks/li/phone", _location(t, lon=HOME[0] + 0.01)),
                   MqttMessage("owntracks/li/phone", _location(t + timedelta(minutes=1))),
                   MqttMessage("owntracks/jane/phone", _location(t))])
    assert (outcome.stored, outcome.refused) == (1, 2)
    assert [f.t for f in db.scalars(select(Fix).where(Fix.supervisee_id == li.id))] == [t]
    assert [f.t for f in db.scalars(select(Fix).where(Fix.supervisee_id == jane.id))] == [t]


def test_an_inactive_device_is_refused_even_before_the_broker_reloads(db, run, clock, phone):
    sup = phone("zhao")
    device = db.scalar(select(Device).where(Device.supervisee_id == sup.id))
    device.active = False
    db.flush()
    outcome = run([MqttMessage("owntracks/zhao/phone", _location(clock.now()))])
    assert (outcome.stored, outcome.refused) == (0, 1)


def test_broker_files_leave_out_devices_that_cannot_have_a_login():
    h = broker_password_hash("s")
    files = render([BrokerDevice("jane", "phone", h), BrokerDevice("li", "phone", None),
                    BrokerDevice("wu", "phone", h), BrokerDevice("wu", "tablet", h),
                    BrokerDevice("a b", "phone", h), BrokerDevice("x", "+", h),
                    BrokerDevice("zhijiao-ingest", "phone", h)], ingest_user="zhijiao-ingest", ingest_hash=h)
    assert files.devices == 1 and files.passwords.count("\n") == 2
    assert set(files.skipped) == {"li/phone", "wu/phone", "wu/tablet", "a b/phone", "x/+", "zhijiao-ingest/phone"}
    assert "topic write owntracks/jane/phone/#" in files.acl and "owntracks/wu" not in files.acl


def test_the_workers_hash_is_kept_while_it_matches():
    first = ingest_hash("", "w", "pw")
    assert ingest_hash(f"w:{first}\n", "w", "pw") == first
    assert ingest_hash(f"w:{first}\n", "w", "other") != first


def test_an_owntracks_device_gets_a_broker_hash_of_its_secret_and_a_new_one_on_rotation(client, db, world):
    officer = world.auth("officer_a")
    sup = world.supervisees["a"]
    r = client.post("/devices", headers=officer, json={"supervisee_id": sup.id, "name": "phone", "kind": "phone",
                                                        "protocol": "owntracks", "owntracks_user": "chen",
                                                        "owntracks_device": "phone"})
    assert r.status_code == 201, r.text
    device_id, secret = r.json()["id"], r.json()["secret"]
    stored = db.scalar(select(Device.mqtt_password_hash).where(Device.id == device_id))
    assert hash_matches(stored, secret) and secret not in stored
    r = client.patch(f"/devices/{device_id}", headers=officer, json={"rotate_secret": True})
    assert r.status_code == 200
    rotated = db.scalar(select(Device.mqtt_password_hash).where(Device.id == device_id))
    assert hash_matches(rotated, r.json()["secret"]) and not hash_matches(rotated, secret)
    # Other protocols have no broker login.
    r = client.post("/devices", headers=officer, json={"supervisee_id": sup.id, "name": "app", "kind": "phone",
                                                        "protocol": "native"})
    assert db.scalar(select(Device.mqtt_password_hash).where(Device.id == r.json()["id"])) is None


def test_our_hash_is_the_one_mosquitto_passwd_writes(tmp_path):
    import base64
    import shutil
    import subprocess

    tool = shutil.which("mosquitto_passwd")
    assert tool, "mosquitto_passwd comes with Debian's mosquitto (./dev test installs it)"
    subprocess.run([tool, "-c", "-b", str(tmp_path / "pw"), "u", "the secret"], check=True)
    written = (tmp_path / "pw").read_text().strip().split(":", 1)[1]
    salt = base64.b64decode(written.split("$")[3])
    assert broker_password_hash("the secret", salt=salt) == written
    assert hash_matches(written, "the secret") and not hash_matches(written, "the secreT")
