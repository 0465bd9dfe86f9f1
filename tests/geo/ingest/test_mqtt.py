"""OwnTracks over MQTT through a real, private Mosquitto and a real worker process.

The broker enforces the logins and topic rights generated from the devices
table; the worker stores and judges what it receives with the HTTP pipeline,
and acknowledges (QoS 1) only after the commit.
"""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.orm import Session

from alerts.models import Alert
from core.audit import AuditLog
from core.audit.log import AuditEntry
from core.clock import SystemClock
from core.db import make_session_factory, sqlalchemy_url
from core.settings import Settings
from geo.ingest.models import Fix
from geo.ingest.mqtt.consume import MqttMessage
from geo.ingest.mqtt.worker import MqttIngestWorker
from supervision.models import Device
from tests.conftest import migrated_database
from tests.factories import add_device, add_fence, add_supervisee, build_world
from tests.geo.ingest.conftest import HOME, OUTSIDE, QUJIANG_WGS84
from tests.mqtt import DeviceClient, PrivateBroker, WorkerProcess, wait_for
from tests.servers import TcpProxy

# MQTT 5's reason code. In MQTT 3.1.1 the broker's CONNACK says 5 ("not
# authorised"; its log shows "Sending CONNACK to … (0, 5)"), which paho
# reports as the same reason.
NOT_AUTHORIZED = 135


class Phone:
    def __init__(self, supervisee, device, secret: str, user: str, name: str) -> None:
        self.supervisee, self.device, self.secret, self.user, self.name = supervisee, device, secret, user, name

    @property
    def topic(self) -> str:
        return f"owntracks/{self.user}/{self.name}"


@pytest.fixture(scope="module")
def mqtt_world(server_url, tmp_path_factory):
    with migrated_database(server_url, "zj_mqtt") as url:
        engine = create_engine(sqlalchemy_url(url))
        settings = Settings()
        phones = {}
        with Session(engine, expire_on_commit=False) as db:
            world = build_world(db, settings, SystemClock())
            for key in ("jane", "li", "wang", "zhao"):
                sup = add_supervisee(db, settings, world.office_a, world.users["officer_a"], key, *HOME)
                add_fence(db, sup, "permitted", QUJIANG_WGS84)
                device, secret = add_device(db, settings, sup, "owntracks", owntracks_user=key,
                                            owntracks_device="phone")
                phones[key] = Phone(sup, device, secret, key, "phone")
            db.commit()
            broker = PrivateBroker(tmp_path_factory.mktemp("mqtt"), url)
            broker.start(db)
        worker = WorkerProcess(broker)
        try:
            worker.start()
            yield broker, worker, phones, engine
        finally:
            worker.stop()
            broker.stop()
            engine.dispose()


def location(t: datetime, lon: float, lat: float, acc: float = 10) -> bytes:
    return json.dumps({"_type": "location", "lat": lat, "lon": lon, "tst": int(t.timestamp()), "acc": acc,
                       "batt": 80, "tid": "ph", "t": "u"}).encode()


def fixes_of(engine, phone: Phone) -> list[Fix]:
    with Session(engine) as db:
        return list(db.scalars(select(Fix).where(Fix.device_id == phone.device.id).order_by(Fix.t)))


def test_locations_published_through_the_broker_are_stored_and_judged(mqtt_world):
    broker, _, phones, engine = mqtt_world
    jane = phones["jane"]
    device = DeviceClient(broker.port, jane.user, jane.secret)
    try:
        assert device.connack == 0
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
        device.publish(jane.topic, location(t0, *HOME))
        # Other message types arrive on the same topic and are accepted without a fix.
        device.publish(jane.topic, json.dumps({"_type": "lwt", "tst": int(t0.timestamp())}).encode())
        # An hour later, 65 km west of the district: outside the permitted area, twice in two minutes.
        for i in range(3):
            device.publish(jane.topic, location(t0 + timedelta(hours=1, minutes=i), *OUTSIDE, acc=30))
        wait_for(lambda: len(fixes_of(engine, jane)) == 4, what="4 fixes stored")
    finally:
        device.close()
    fixes = fixes_of(engine, jane)
    assert {f.protocol for f in fixes} == {"owntracks"}
    assert fixes[0].raw["headers"] == {"X-Limit-U": "jane", "X-Limit-D": "phone"}
    assert all(f.decisions for f in fixes)  # judged against the permitted fence
    with Session(engine) as db:
        alert = wait_for(lambda: db.scalar(select(Alert).where(Alert.supervisee_id == jane.supervisee.id)),
                         what="the violation alert")
        assert alert.kind == "left_permitted_area" and alert.occurred_at == t0 + timedelta(hours=1)


def test_the_same_message_twice_is_stored_once(mqtt_world):
    broker, _, phones, engine = mqtt_world
    li = phones["li"]
    device = DeviceClient(broker.port, li.user, li.secret)
    try:
        t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
        device.publish(li.topic, location(t, *HOME))
        device.publish(li.topic, location(t, *HOME))  # what a redelivery looks like to the worker
        device.publish(li.topic, location(t + timedelta(minutes=1), *HOME))
        wait_for(lambda: len(fixes_of(engine, li)) == 2, what="2 fixes")
    finally:
        device.close()
    assert [f.t for f in fixes_of(engine, li)] == [t, t + timedelta(minutes=1)]


def test_wrong_password_is_refused_by_the_broker(mqtt_world):
    broker, _, phones, _ = mqtt_world
    for protocol in (mqtt.MQTTv311, mqtt.MQTTv5):
        device = DeviceClient(broker.port, "jane", phones["jane"].secret[:-2] + "xx", protocol=protocol)
        try:
            assert device.connack.is_failure and device.connack.value == NOT_AUTHORIZED
        finally:
            device.close()
    # Another device's secret under this name is no better.
    device = DeviceClient(broker.port, "jane", phones["li"].secret)
    try:
        assert device.connack.is_failure and device.connack.value == NOT_AUTHORIZED
    finally:
        device.close()


def test_publishing_to_another_devices_topic_is_refused_by_the_broker(mqtt_world):
    broker, _, phones, engine = mqtt_world
    jane, wang = phones["jane"], phones["wang"]
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    before = len(fixes_of(engine, jane))
    # MQTT 5: the broker answers the PUBLISH with "not authorized".
    v5 = DeviceClient(broker.port, jane.user, jane.secret, protocol=mqtt.MQTTv5)
    try:
        assert v5.publish(wang.topic, location(t, *OUTSIDE)).value == NOT_AUTHORIZED
        assert v5.publish(f"owntracks/{wang.user}/phone/event", location(t, *OUTSIDE)).value == NOT_AUTHORIZED
    finally:
        v5.close()
    # MQTT 3.1.1 (OwnTracks' protocol) has no refusal code: Mosquitto acknowledges
    # and drops the message, and keeps the connection. Our own message sent after
    # it is delivered, in order; the forged one never is.
    v3 = DeviceClient(broker.port, jane.user, jane.secret)
    try:
        assert v3.publish(wang.topic, location(t + timedelta(seconds=1), *OUTSIDE)).value == 0
        assert not v3.disconnected.is_set()
        v3.publish(jane.topic, location(t + timedelta(seconds=2), *HOME))
        wait_for(lambda: len(fixes_of(engine, jane)) == before + 1, what="jane's own fix")
    finally:
        v3.close()
    assert fixes_of(engine, wang) == []


def test_broker_files_hold_hashes_only(mqtt_world):
    broker, _, phones, _ = mqtt_world
    text = "".join((broker.dir / name).read_text() for name in ("password_file", "acl_file"))
    assert all(phone.secret not in text for phone in phones.values()) and broker.password not in text
    assert "jane:$7$101$" in text and "topic write owntracks/jane/phone/#" in text


def test_a_disabled_device_is_refused_by_the_broker_after_the_reload(mqtt_world):
    broker, _, phones, engine = mqtt_world
    zhao = phones["zhao"]
    device = DeviceClient(broker.port, zhao.user, zhao.secret)
    try:
        assert device.connack == 0
        with Session(engine) as db:
            db.execute(update(Device).where(Device.id == zhao.device.id).values(active=False))
            db.commit()
        disabled_at = time.monotonic()
        # The NOTIFY trigger wakes the worker's file sync, which reloads the
        # broker; Mosquitto drops the logins no longer in its files.
        wait_for(device.disconnected.is_set, timeout=60, what="the broker to drop the disabled device")
        took = time.monotonic() - disabled_at
    finally:
        device.close()
    again = DeviceClient(broker.port, zhao.user, zhao.secret)
    try:
        assert again.connack.is_failure and again.connack.value == NOT_AUTHORIZED
    finally:
        again.close()
    print(f"disabled device dropped by the broker {took:.2f} s after the commit")
    assert "zhao:" not in (broker.dir / "password_file").read_text()


def test_a_qos1_message_is_not_lost_when_the_worker_is_killed_before_commit(mqtt_world):
    broker, worker, phones, engine = mqtt_world
    li = phones["li"]
    sid = li.supervisee.id
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    device = DeviceClient(broker.port, li.user, li.secret)
    with psycopg.connect(broker.database_url, autocommit=True) as blocker:
        # Hold the supervisee's ingest lock (the one the pipeline takes before it
        # writes anything): the worker receives the message and then waits, its
        # transaction open and uncommitted, until it is killed.
        blocker.execute("SELECT pg_advisory_lock(1, %s)", (sid,))
        try:
            assert device.publish(li.topic, location(t, *HOME)) == 0  # the broker has it (QoS 1)
            wait_for(lambda: blocker.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND classid = 1 AND objid = %s", (sid,)).fetchone()[0], what="the worker to wait on the lock")
            worker.kill()
        finally:
            blocker.execute("SELECT pg_advisory_unlock(1, %s)", (sid,))
    assert t not in [f.t for f in fixes_of(engine, li)]
    worker.start()
    try:
        # Redelivered to the restarted worker (same client id, persistent session).
        wait_for(lambda: t in [f.t for f in fixes_of(engine, li)], what="the redelivered fix")
        device.publish(li.topic, location(t + timedelta(seconds=30), *HOME))
        wait_for(lambda: t + timedelta(seconds=30) in [f.t for f in fixes_of(engine, li)], what="the next fix")
    finally:
        device.close()
    assert [f.t for f in fixes_of(engine, li)].count(t) == 1
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(Fix).where(Fix.device_id == li.device.id, Fix.t == t)) == 1


def test_a_message_that_breaks_its_batch_is_refused_alone(mqtt_world):
    """A message the database refuses for a reason nobody foresaw (here: a test
    trigger) must not block every message behind it by being redelivered for ever."""
    broker, _, phones, engine = mqtt_world
    wang = phones["wang"]
    settings = Settings()
    settings.mqtt = broker.settings()
    worker = MqttIngestWorker(settings, session_factory=make_session_factory(engine), clock=SystemClock(),
                              audit=AuditLog(settings.audit.audit_key.encode(), SystemClock()))
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    with engine.begin() as conn:
        conn.execute(text("CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS"
                          " $$ BEGIN RAISE EXCEPTION 'poison'; END $$"))
        conn.execute(text("CREATE TRIGGER test_poison BEFORE INSERT ON fixes FOR EACH ROW"
                          " WHEN (NEW.accuracy_m = 666) EXECUTE FUNCTION test_poison()"))
    try:
        worker._handle([MqttMessage(wang.topic, location(t + timedelta(seconds=i), *HOME, acc=acc))
                        for i, acc in enumerate((10, 666, 12))])
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER test_poison ON fixes"))
            conn.execute(text("DROP FUNCTION test_poison()"))
    stored = [f.t for f in fixes_of(engine, wang) if f.t >= t]
    assert stored == [t, t + timedelta(seconds=2)]
    with Session(engine) as db:
        refusal = db.scalars(select(AuditEntry).where(AuditEntry.action == "ingest.mqtt")
                             .order_by(AuditEntry.seq.desc())).first()
        assert refusal.outcome == "refused" and "poison" in refusal.detail["message"]


def test_nothing_is_acknowledged_while_the_database_is_away(mqtt_world):
    broker, worker, phones, engine = mqtt_world
    li = phones["li"]
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    proxy = TcpProxy(broker.database_url)
    worker.stop()
    # The same client id (the same broker session), its database behind a proxy we cut.
    cut_off = WorkerProcess(broker, name="cut-off", ZHIJIAO_DATABASE_URL=proxy.url)
    cut_off.start()
    device = DeviceClient(broker.port, li.user, li.secret)
    try:
        proxy.cut()
        device.publish(li.topic, location(t, *HOME))
        # It fails, reconnects so the broker resends, fails again: alive, and acknowledging nothing.
        wait_for(lambda: cut_off.output().count("reconnecting for redelivery") >= 2, what="two failed rounds")
        assert cut_off.proc.poll() is None
        cut_off.kill()
        worker.start()
        wait_for(lambda: t in [f.t for f in fixes_of(engine, li)], what="the fix after the outage")
    finally:
        device.close()
        cut_off.stop()
    assert [f.t for f in fixes_of(engine, li)].count(t) == 1


def test_a_device_presenting_the_workers_client_id_cannot_take_its_session(mqtt_world):
    """Review finding: a phone logging in with its own password and client id
    ``zhijiao-ingest`` (clean session) kicked the worker off and discarded its
    persistent session. The broker now takes every client id from the login name."""
    broker, worker, phones, engine = mqtt_world
    jane, wang = phones["jane"], phones["wang"]
    start = len(worker.output())
    impostor = DeviceClient(broker.port, jane.user, jane.secret, client_id="zhijiao-ingest")
    phone = DeviceClient(broker.port, wang.user, wang.secret)
    try:
        assert impostor.connack == 0  # its own login is good; it simply is not the worker
        t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
        before = len(fixes_of(engine, wang))
        phone.publish(wang.topic, location(t, *HOME))
        wait_for(lambda: len(fixes_of(engine, wang)) == before + 1, what="the fix stored")
    finally:
        impostor.close()
        phone.close()
    # The fix needed the worker connected; it never lost its connection on the way.
    assert "mqtt: disconnected" not in worker.output()[start:]
    assert "already connected, closing old connection" not in broker.log.read_text()


def test_the_broker_never_runs_as_root(mqtt_world, tmp_path):
    from geo.ingest.mqtt.broker_files import broker_config, broker_run_as

    assert broker_run_as(euid=0) == "mosquitto"
    conf = broker_config(tmp_path, port=1, pid_file=tmp_path / "p", run_as=broker_run_as(euid=0))
    assert "user mosquitto" in conf.splitlines() and "use_username_as_clientid true" in conf.splitlines()
    with pytest.raises(ValueError):
        broker_config(tmp_path, port=1, pid_file=tmp_path / "p", run_as="root")
    broker = mqtt_world[0]
    # The running private broker: its process is not root's (when the tests run as root, it is mosquitto's).
    uid = next(int(line.split()[1]) for line in open(f"/proc/{broker.proc.pid}/status") if line.startswith("Uid:"))
    assert uid != 0
