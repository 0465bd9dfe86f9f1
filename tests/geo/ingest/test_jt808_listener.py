"""The JT/T 808 listener over real TCP on 127.0.0.1, against a committed database.

A terminal registers, authenticates and reports; every 0x8001 result 0 is sent
only after the commit that holds the fixes (a separate connection sees them the
moment the answer arrives; a commit that fails answers 1 and stores nothing).
"""
from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import threading
import time

import psycopg
import pytest
from shapely.geometry import box
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.clock import SystemClock
from core.db import make_engine, make_session_factory
from core.settings import Settings
from geo.fences.cache import FenceCache
from geo.ingest.jt808.listener import Jt808Listener
from tests.conftest import migrated_database
from tests.factories import add_device, add_fence, add_supervisee, build_world
from tests.geo.ingest import jt808_frames as jf
from tests.geo.ingest.jt808_terminal import Terminal, ago

_phones = itertools.count(13900000001)
INSIDE = (28.95, 118.95)  # lat, lon inside the permitted box
OUTSIDE = (28.95, 119.10)  # ~5 km east of it


@pytest.fixture(scope="module")
def jt808(server_url):
    """A migrated database and a listener on a free port, on an event loop of its own."""
    with migrated_database(server_url, "zj_jt808") as url:
        settings = Settings()
        settings.db.database_url = url
        settings.jt808.jt808_port = 0
        settings.jt808.jt808_auth_timeout_seconds = 3.0
        settings.jt808.jt808_max_frame_bytes = 4096
        settings.jt808.jt808_attempts_per_minute = 6000.0  # every test connects from 127.0.0.1
        settings.jt808.jt808_attempt_burst = 1000
        engine = make_engine(url, pool_size=4)
        try:
            with running_listener(settings, engine) as port:
                with Session(engine, expire_on_commit=False) as db:
                    world = build_world(db, settings, SystemClock())
                    db.commit()
                yield url, settings, engine, port, world
        finally:
            engine.dispose()


@contextlib.contextmanager
def running_listener(settings: Settings, engine):
    """A listener on a free port, on an event loop (thread) of its own; its port."""
    clock = SystemClock()
    listener = Jt808Listener(settings=settings, session_factory=make_session_factory(engine), clock=clock,
                             audit=AuditLog(settings.audit.audit_key.encode(), clock), fences=FenceCache())
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(listener.start(), loop).result(10)
    try:
        yield listener.port
    finally:
        asyncio.run_coroutine_threadsafe(listener.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@pytest.fixture
def terminal(jt808):
    """A committed supervisee who wears a jt808 wristband and has a permitted box."""
    url, settings, engine, port, world = jt808
    phone = str(next(_phones))
    with Session(engine, expire_on_commit=False) as db:
        person = add_supervisee(db, settings, world.office_a, world.users["officer_a"], f"腕带{phone}")
        device, _secret = add_device(db, settings, person, "jt808", jt808_phone=phone)
        add_fence(db, person, "permitted", box(118.9, 28.9, 119.0, 29.0), min_fixes=2, min_seconds=60)
        db.commit()
    return Terminal(port, phone, device.id, url)


def test_register_authenticate_heartbeat_and_report(terminal):
    t = terminal.connect()
    t.login()
    serial = t.send(0x0002)
    assert t.general() == (serial, 0x0002, 0)
    serial = t.send(0x0200, jf.location(ago(5), *INSIDE))
    assert t.general() == (serial, 0x0200, 0)
    # The answer came after the commit: a separate connection sees the fix already.
    assert t.fixes() == 1
    with psycopg.connect(t.url) as conn:
        lon, lat, acc, protocol = conn.execute("SELECT lon, lat, accuracy_m, protocol FROM fixes WHERE device_id = %s",
                                               (t.device_id,)).fetchone()
    assert (lat, lon, protocol) == (pytest.approx(INSIDE[0]), pytest.approx(INSIDE[1]), "jt808") and acc == 20.0
    assert t.alerts() == []


def test_batch_upload_2019_outside_the_area_raises_a_violation(terminal):
    t = terminal.connect()
    t.login(v2019=True)
    items = [jf.location(ago(10 - i), OUTSIDE[0], OUTSIDE[1] + i * 0.001) for i in range(3)]
    serial = t.send(0x0704, jf.batch(items), v2019=True)
    assert t.general() == (serial, 0x0704, 0)
    assert t.fixes() == 3
    assert [kind for kind, _ in t.alerts()] == ["left_permitted_area"]
    # The same batch again (a terminal that missed our answer): acknowledged, not stored twice.
    serial = t.send(0x0704, jf.batch(items), v2019=True)
    assert t.general() == (serial, 0x0704, 0) and t.fixes() == 3


def test_strap_cut_alarm_raises_a_tamper_alert(terminal):
    t = terminal.connect()
    t.login()
    serial = t.send(0x0200, jf.location(ago(3), *INSIDE, alarm=1 << 26))
    assert t.general() == (serial, 0x0200, 0)
    assert t.alerts() == [("device", f"device:{t.device_id}:tamper")]


def test_bad_checksum_and_bad_escape_answered_2_nothing_stored(terminal):
    t = terminal.connect()
    t.login()
    serial = t.send(0x0200, jf.location(ago(4), *INSIDE), bad_checksum=True)
    assert t.general() == (serial, 0x0200, 2)
    good = jf.frame(0x0200, jf.location(ago(4), *INSIDE), t.phone, 77)
    t.sock.sendall(good[:-2] + b"\x7d\x05\x7e")  # an escape the standard does not define, after the header
    assert t.general() == (77, 0x0200, 2)
    t.sock.sendall(good[:4] + b"\x7d\x05" + good[4:])  # inside the header: unreadable, dropped unanswered
    serial = t.send(0x0002)
    assert t.general() == (serial, 0x0002, 0)  # the next answer is the heartbeat's
    assert t.fixes() == 0


def test_reports_before_authentication_are_refused(terminal):
    t = terminal.connect()
    serial = t.send(0x0200, jf.location(ago(2), *INSIDE))
    assert t.general() == (serial, 0x0200, 1)
    assert t.fixes() == 0


def test_wrong_auth_code_is_refused_and_closed(terminal):
    t = terminal.connect()
    result, code = t.register()
    assert result == 0
    serial = t.send(0x0102, jf.authentication("0" * 32))
    assert t.general() == (serial, 0x0102, 1)
    assert t.closed()
    with psycopg.connect(t.url) as conn:
        assert conn.execute("SELECT outcome FROM audit_log WHERE action = 'jt808.authenticate'"
                            " AND detail->>'terminal' = %s", (t.phone,)).fetchall() == [("refused",)]


def test_registration_is_once_and_unknown_terminals_are_refused(terminal, jt808):
    url, settings, engine, port, _ = jt808
    first = terminal.connect().register()
    assert first[0] == 0
    assert terminal.connect().register() == first  # within the window: the same code (a lost answer)
    with psycopg.connect(terminal.url) as conn:
        conn.execute("UPDATE devices SET jt808_registered_at = now() - interval '1 hour' WHERE id = %s",
                     (terminal.device_id,))
    assert terminal.connect().register() == (3, "")  # terminal already registered
    stranger = Terminal(port, "13000000000", 0, url).connect()
    assert stranger.register() == (4, "")  # no such terminal
    assert stranger.closed()  # refused: no second attempt on this connection


def test_knowing_the_sim_number_is_not_enough_to_register(terminal):
    """Review finding: the auth code went to whoever sent a 0x0100 with the phone
    number. The terminal id the officer recorded must match, and a wrong one is
    answered exactly like an unknown phone number (no enumeration)."""
    t = terminal.connect()
    assert t.register(terminal_id="T999999") == (4, "")
    assert t.closed()
    with psycopg.connect(t.url) as conn:
        rows = conn.execute("SELECT outcome, object_id, detail->>'reason' FROM audit_log WHERE action = 'jt808.register'"
                            " AND detail->>'terminal' = %s", (t.phone,)).fetchall()
        assert rows == [("refused", str(t.device_id), "terminal id does not match the device's")]
        assert conn.execute("SELECT jt808_registered_at FROM devices WHERE id = %s", (t.device_id,)).fetchone() == (None,)
    # The recorded id (letters in either case) still registers.
    assert terminal.connect().register(terminal_id="t000001")[0] == 0


def test_one_registration_attempt_per_connection(terminal):
    t = terminal.connect()
    assert t.register()[0] == 0
    t.send(0x0100, jf.registration())  # a second attempt on the same connection: closed, unanswered
    assert t.closed()


def test_registration_from_elsewhere_while_the_device_is_connected_is_refused(terminal):
    live = terminal.connect()
    live.login()
    other = Terminal(live.port, live.phone, live.device_id, live.url).connect(source="127.0.0.2")
    assert other.register() == (3, "")
    with psycopg.connect(live.url) as conn:
        assert conn.execute("SELECT outcome FROM audit_log WHERE action = 'jt808.register' AND detail->>'reason'"
                            " = 'live connection from another address' AND detail->>'terminal' = %s",
                            (live.phone,)).fetchall() == [("refused",)]
    # The same address (the terminal itself reconnecting) may.
    assert Terminal(live.port, live.phone, live.device_id, live.url).connect().register()[0] == 0
    serial = live.send(0x0002)
    assert live.general() == (serial, 0x0002, 0)  # the live connection is undisturbed


def test_failed_commit_answers_failure_and_stores_nothing(terminal):
    t = terminal.connect()
    t.login()
    with psycopg.connect(t.url, autocommit=True) as conn:
        # A deferred constraint trigger fails the transaction at COMMIT, after ingest ran.
        conn.execute("CREATE OR REPLACE FUNCTION zj_refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS"
                     " $$ BEGIN IF NEW.altitude_m = 4242 THEN RAISE EXCEPTION 'refused at commit'; END IF;"
                     " RETURN NULL; END $$")
        conn.execute("CREATE CONSTRAINT TRIGGER zj_refuse_at_commit AFTER INSERT ON fixes"
                     " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION zj_refuse_at_commit()")
    try:
        body = jf.location(ago(6), *INSIDE, altitude=4242)
        serial = t.send(0x0200, body)
        assert t.general() == (serial, 0x0200, 1)
        assert t.fixes() == 0
    finally:
        with psycopg.connect(t.url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER zj_refuse_at_commit ON fixes")
    serial = t.send(0x0200, body)  # the terminal resends; now it commits
    assert t.general() == (serial, 0x0200, 0)
    assert t.fixes() == 1


def test_answer_waits_for_a_slow_commit(terminal):
    """A commit held back 1.5 s: an answer sent before it would find the fix invisible."""
    t = terminal.connect()
    t.login()
    with psycopg.connect(t.url, autocommit=True) as conn:
        conn.execute("CREATE OR REPLACE FUNCTION zj_slow_commit() RETURNS trigger LANGUAGE plpgsql AS"
                     " $$ BEGIN IF NEW.altitude_m = 4343 THEN PERFORM pg_sleep(1.5); END IF; RETURN NULL; END $$")
        conn.execute("CREATE CONSTRAINT TRIGGER zj_slow_commit AFTER INSERT ON fixes"
                     " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION zj_slow_commit()")
    try:
        serial = t.send(0x0200, jf.location(ago(7), *INSIDE, altitude=4343))
        assert t.general() == (serial, 0x0200, 0)
        assert t.fixes() == 1
    finally:
        with psycopg.connect(t.url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER zj_slow_commit ON fixes")


def test_oversized_frame_closes_the_connection(terminal):
    t = terminal.connect()
    t.sock.sendall(b"\x7e" + b"\x01" * 5000)
    assert t.closed()


def test_unauthenticated_connection_is_closed_even_while_it_talks(terminal):
    t = terminal.connect()
    t.register()
    t.sock.settimeout(1.0)
    closed = False
    for _ in range(150):  # heartbeats every 0.2 s do not extend the authentication deadline (3 s here)
        time.sleep(0.2)
        try:
            serial = t.send(0x0002)
            assert t.general() == (serial, 0x0002, 1)
        except (AssertionError, OSError):
            closed = True
            break
    assert closed


def test_undecodable_report_is_a_message_error(terminal):
    t = terminal.connect()
    t.login()
    bad_time = jf.location(ago(1), *INSIDE)[:22] + bytes.fromhex("261399000000")
    serial = t.send(0x0200, bad_time)
    assert t.general() == (serial, 0x0200, 2)
    serial = t.send(0x8888)
    assert t.general() == (serial, 0x8888, 3)  # not supported
    assert t.fixes() == 0


@pytest.fixture
def strict(jt808):
    """A second listener on the same database with tight per-address limits."""
    url, settings, engine, _, _ = jt808
    tight = copy.copy(settings)
    tight.jt808 = settings.jt808.model_copy()
    tight.jt808.jt808_max_connections_per_address = 3
    tight.jt808.jt808_attempts_per_minute = 0.6  # one a 100 s: no refill during the test
    tight.jt808.jt808_attempt_burst = 4
    with running_listener(tight, engine) as port:
        yield port


def _audit_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM audit_log WHERE action LIKE 'jt808.%'").fetchone()[0]


def test_a_stranger_flood_is_capped_per_address_before_any_database_work(strict, jt808):
    url = jt808[0]
    held = [Terminal(strict, "13011110000", 0, url).connect() for _ in range(3)]
    fourth = Terminal(strict, "13011110000", 0, url).connect()
    assert fourth.closed()  # beyond the per-address connection cap
    other = Terminal(strict, "13011110000", 0, url).connect(source="127.0.0.3")  # another address is not capped
    for t in held:
        t.sock.close()
    before = _audit_rows(url)
    answered = 0
    for i in range(8):
        t = Terminal(strict, f"1301111{i:04d}", 0, url).connect(source="127.0.0.4")
        try:
            assert t.register() == (4, "")
            answered += 1
        except AssertionError:
            pass  # over the address's attempt rate: closed unanswered
        assert t.closed()  # either way (so the listener has counted the connection out)
        t.sock.close()
    assert answered == 4  # the burst; the rest cost no transaction and no audit row
    assert _audit_rows(url) - before == 4
    assert other.register() == (4, "")  # 127.0.0.3 has its own bucket
