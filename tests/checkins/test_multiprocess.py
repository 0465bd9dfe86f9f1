"""Exactly once with several processes: two real server processes run the check-in schedule
over many occurrences; each gets one due transition and at most one missed alert. And the
judging step itself is idempotent without the job lock: two sessions at once judge each window once."""
from __future__ import annotations

import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from checkins.schedule import judge_closed, open_windows
from core.clock import SystemClock
from core.db import sqlalchemy_url
from core.settings import Settings
from tests.conftest import migrated_database
from tests.factories import add_supervisee, build_world
from tests.servers import start_server

OBSERVER = """
CREATE TABLE test_due_log (occurrence_id bigint, at timestamptz);
CREATE FUNCTION test_log_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO test_due_log VALUES (NEW.id, NEW.due_at); RETURN NEW; END $$;
CREATE TRIGGER test_due AFTER UPDATE ON checkin_occurrences FOR EACH ROW
WHEN (OLD.due_at IS DISTINCT FROM NEW.due_at) EXECUTE FUNCTION test_log_due();
"""


def seed_world(url: str, *, people: int) -> list:
    """A committed world with ``people`` more supervisees in office a."""
    settings = Settings()
    engine = create_engine(sqlalchemy_url(url))
    try:
        with Session(engine, expire_on_commit=False) as db:
            world = build_world(db, settings, SystemClock())
            sups = [add_supervisee(db, settings, world.office_a, world.users["officer_a"], f"多进程{i}")
                    for i in range(people)]
            db.commit()
    finally:
        engine.dispose()
    return sups


def seed_windows(url: str, sups: list, *, per_person: int, start: datetime, spacing: float,
                 length: float) -> list[int]:
    """Many short windows (officer-style occurrences), committed; a trigger logs every due transition."""
    rows, k = [], 0
    for _ in range(per_person):
        for s in sups:
            opens = start + timedelta(seconds=k * spacing)
            rows.append((f"officer:{uuid.uuid4().hex}", s.id, s.office_id, opens, opens + timedelta(seconds=length)))
            k += 1
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(OBSERVER)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO checkin_occurrences (plan_id, key, supervisee_id, office_id, kind, requires_face,"
                " opens_at, closes_at, state, created_at) VALUES (NULL, %s, %s, %s, 'spot', false, %s, %s,"
                " 'scheduled', now())", rows)
        return [r[0] for r in conn.execute("SELECT id FROM checkin_occurrences WHERE plan_id IS NULL ORDER BY id")]


def seed(url: str, *, people: int, per_person: int, start: datetime, spacing: float, length: float) -> list[int]:
    return seed_windows(url, seed_world(url, people=people), per_person=per_person, start=start, spacing=spacing,
                        length=length)


def test_two_server_processes_run_the_schedule_each_occurrence_once(server_url):
    with migrated_database(server_url, "zj_ckmp") as url:
        sups = seed_world(url, people=20)
        env = dict(ZHIJIAO_CHECKIN_CHECK_SECONDS="0.5", ZHIJIAO_ESCALATION_INTERVAL_SECONDS="3600")
        procs = []
        try:
            for _ in range(2):
                proc, _ = start_server(url, **env)
                procs.append(proc)
            # Both processes are up and running the schedule; the windows open from now on.
            start = datetime.now(UTC) + timedelta(seconds=1)
            ids = seed_windows(url, sups, per_person=10, start=start, spacing=0.05, length=5.0)
            last_close = start + timedelta(seconds=len(ids) * 0.05 + 5.0)
            deadline = time.monotonic() + 600  # generous: the machine may be loaded; this is not a timing test
            while True:
                with psycopg.connect(url) as conn:
                    left = conn.execute("SELECT count(*) FROM checkin_occurrences WHERE plan_id IS NULL"
                                        " AND state IN ('scheduled', 'due')").fetchone()[0]
                if left == 0 and datetime.now(UTC) > last_close:
                    break
                assert time.monotonic() < deadline, f"{left} occurrences still not judged"
                time.sleep(0.5)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
        with psycopg.connect(url) as conn:
            states = dict(conn.execute("SELECT state, count(*) FROM checkin_occurrences WHERE plan_id IS NULL"
                                       " GROUP BY 1").fetchall())
            due_twice = conn.execute("SELECT occurrence_id FROM test_due_log GROUP BY 1 HAVING count(*) > 1").fetchall()
            due_once = conn.execute("SELECT count(DISTINCT occurrence_id) FROM test_due_log").fetchone()[0]
            alerts = dict(conn.execute(
                "SELECT o.id, count(a.id) FROM checkin_occurrences o LEFT JOIN alerts a"
                " ON a.cause = 'checkin:' || o.id || ':missed' WHERE o.plan_id IS NULL GROUP BY 1").fetchall())
            ledger = conn.execute("SELECT occurrence_id FROM checkin_ledger GROUP BY occurrence_id, kind"
                                  " HAVING count(*) > 1").fetchall()
            plans = conn.execute("SELECT supervisee_id FROM checkin_plans WHERE valid_to IS NULL GROUP BY 1"
                                 " HAVING count(*) > 1").fetchall()
            plan_keys = conn.execute("SELECT plan_id, key FROM checkin_occurrences WHERE plan_id IS NOT NULL"
                                     " GROUP BY 1, 2 HAVING count(*) > 1").fetchall()
            runs = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'checkin.schedule'").fetchone()[0]
    # Every window missed (none submitted): judged once each, with one alert each. (A round that
    # took longer than a window on a loaded machine may judge it without seeing it open: at most one
    # due record each is the property, not that every window was caught open.)
    assert states.get("missed", 0) + states.get("missed_outage", 0) == len(ids), states
    assert due_twice == [] and due_once >= 1
    assert max(alerts.values()) <= 1 and sum(alerts.values()) == states.get("missed", 0)
    assert ledger == [] and plans == [] and plan_keys == []
    assert runs >= 1


def test_judging_in_two_sessions_at_once_judges_each_window_once(server_url):
    with migrated_database(server_url, "zj_ckjudge") as url:
        past = datetime.now(UTC) - timedelta(hours=1)
        ids = seed(url, people=10, per_person=30, start=past, spacing=1, length=60)
        settings = Settings()
        engine = create_engine(sqlalchemy_url(url), pool_size=4)
        now = datetime.now(UTC)
        counts: list[int] = []
        barrier = threading.Barrier(2)

        def worker() -> None:
            with Session(engine) as db:
                barrier.wait()
                assert open_windows(db, now=now) == 0  # every window closed an hour ago
                total = 0
                while True:
                    r = judge_closed(db, now=now, settings=settings, last_run=None, limit=25)
                    db.commit()
                    if r.missed == 0:
                        break
                    total += r.missed
                counts.append(total)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        engine.dispose()
        with psycopg.connect(url) as conn:
            missed = conn.execute("SELECT count(*) FROM checkin_occurrences WHERE state = 'missed'").fetchone()[0]
            alerts = conn.execute("SELECT count(*) FROM alerts WHERE kind = 'missed_checkin'").fetchone()[0]
            ledger = conn.execute("SELECT count(*) FROM checkin_ledger").fetchone()[0]
    assert missed == alerts == ledger == len(ids)
    assert sum(counts) == len(ids)  # what the two sessions report adds up: none judged twice
