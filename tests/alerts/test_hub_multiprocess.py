"""Two real server processes on one database: an alert committed through process 1
reaches an officer connected to process 2, over the Postgres bus and over NATS.

Process 1 is started first and made the relay leader, so every event is stamped
and published there and can only reach process 2's socket through the bus. (With
``memory://`` it would not arrive: that bus does not cross processes, by design.)
The fence-change half of the issue's multi-process line belongs to the ingest tests.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from alerts.raising import raise_alert
from alerts.relay import RELAY_LOCK_ID
from core.db import sqlalchemy_url
from core.settings import Settings, get_settings
from tests.alerts.test_hub import recv, recv_events, stream
from tests.conftest import migrated_database
from tests.factories import World, seed_world_with_device
from tests.servers import STARTUP, start_server

EXCLUDED = (119.0, 28.9)  # centre of a 300 m exclusion zone in Qujiang (WGS-84)


@dataclass
class Cluster:
    url: str
    world: World
    secret: str  # device bearer token of supervisee "a"
    procs: list[subprocess.Popen]
    http: list[str]

    def ws(self, i: int) -> str:
        return self.http[i].replace("http://", "ws://") + "/ws/alerts"

    def ticket(self, i: int, who: str) -> str:
        r = httpx.post(self.http[i] + "/ws/tickets", headers=self.world.auth(who))
        assert r.status_code == 201, r.text
        return r.json()["ticket"]


@pytest.fixture(scope="module")
def database(server_url: str) -> Iterator[tuple[str, World, str]]:
    with migrated_database(server_url, "zj_hubmp") as url:
        world, secret = seed_world_with_device(url, Settings(), exclusion=EXCLUDED)
        yield url, world, secret


def relay_leader(url: str) -> int | None:
    """OS pid of the server process holding the relay lock (from its application_name)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objid = %s"
            # pg_locks is cluster-wide: other databases have relay leaders too.
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (RELAY_LOCK_ID,)).fetchone()
    return int(row[0].split(":")[1]) if row else None


def wait_leader(url: str, pid: int) -> None:
    deadline = time.monotonic() + STARTUP
    while relay_leader(url) != pid:
        assert time.monotonic() < deadline, f"process {pid} did not become the relay leader"
        time.sleep(0.1)


@pytest.fixture(scope="module", params=["postgres", "nats"])
def cluster(request: pytest.FixtureRequest, database: tuple[str, World, str]) -> Iterator[Cluster]:
    url, world, secret = database
    if request.param == "postgres":
        bus_url = url  # LISTEN/NOTIFY in this test's own database: isolated from other runs
    else:
        bus_url = os.environ.get("ZHIJIAO_TEST_NATS_URL", "nats://127.0.0.1:4222")
    channel = f"alerts.t{uuid.uuid4().hex[:12]}"  # a shared NATS must not mix test runs
    procs: list[subprocess.Popen] = []
    try:
        p1, http1 = start_server(url, ZHIJIAO_BUS_URL=bus_url, ZHIJIAO_BUS_CHANNEL=channel)
        procs.append(p1)
        wait_leader(url, p1.pid)
        p2, http2 = start_server(url, ZHIJIAO_BUS_URL=bus_url, ZHIJIAO_BUS_CHANNEL=channel)
        procs.append(p2)
        yield Cluster(url, world, secret, procs, [http1, http2])
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)


def commit_alert(url: str, world: World) -> int:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with Session(engine) as db:
            s, now = world.supervisees["a"], datetime.now(UTC)
            alert, _ = raise_alert(db, now=now, supervisee_id=s.id, office_id=s.office_id, tier=s.tier,
                                   kind="signal_lost", cause=f"mp:{uuid.uuid4().hex}", title="multi-process",
                                   occurred_at=now, flap_limit=get_settings().alerts.flap_limit_per_hour)
            db.commit()
            return alert.id
    finally:
        engine.dispose()


def created(alert_id: int):
    return lambda evs: any(e["event"] == "created" and e["alert_id"] == alert_id for e in evs)


async def test_alert_committed_through_process_1_reaches_process_2(cluster: Cluster) -> None:
    # The ticket is issued by process 1 and redeemed by process 2: tickets live in the database.
    async with stream(cluster.ws(1), cluster.ticket(0, "officer_a")) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        assert relay_leader(cluster.url) == cluster.procs[0].pid
        alert_id = await asyncio.to_thread(commit_alert, cluster.url, cluster.world)
        started = time.monotonic()
        await recv_events(ws, created(alert_id), timeout=5)
        assert time.monotonic() - started < 2


async def test_fix_ingested_through_process_1_alerts_officer_on_process_2(cluster: Cluster) -> None:
    paths = httpx.get(cluster.http[0] + "/openapi.json").json()["paths"]
    if "/ingest/native" not in paths:
        pytest.skip("POST /ingest/native is not registered yet")
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    fixes = [{"id": f"mp-{uuid.uuid4().hex[:8]}-{i}", "time": (t0 + timedelta(seconds=40 * i)).isoformat(),
              "lon": EXCLUDED[0], "lat": EXCLUDED[1], "accuracy": 20} for i in range(3)]
    async with stream(cluster.ws(1), cluster.ticket(1, "officer_a")) as ws, \
            stream(cluster.ws(1), cluster.ticket(1, "officer_b")) as other:
        assert (await recv(ws))["type"] == "snapshot"
        assert (await recv(other))["type"] == "snapshot"
        r = await asyncio.to_thread(httpx.post, cluster.http[0] + "/ingest/native",
                                    headers={"Authorization": f"Bearer {cluster.secret}"}, json={"fixes": fixes})
        assert r.status_code == 200, r.text
        # "created", or "evidence" if an earlier run (the other bus) left the alert open.
        events = await recv_events(ws, lambda evs: any(
            e["event"] in ("created", "evidence") and e["alert"]["kind"] == "entered_exclusion_zone" for e in evs),
            timeout=5)
        supervisee_a = cluster.world.supervisees["a"].id
        assert all(e["alert"]["supervisee_id"] == supervisee_a for e in events)
        # Officer B (another office) gets nothing of it.
        with pytest.raises(TimeoutError):
            await recv_events(other, lambda evs: len(evs) > 0, timeout=0.5)


async def test_standby_takes_over_when_the_leader_dies(cluster: Cluster) -> None:
    async with stream(cluster.ws(1), cluster.ticket(1, "officer_a")) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        cluster.procs[0].terminate()
        cluster.procs[0].wait(10)
        await asyncio.to_thread(wait_leader, cluster.url, cluster.procs[1].pid)
        alert_id = await asyncio.to_thread(commit_alert, cluster.url, cluster.world)
        await recv_events(ws, created(alert_id), timeout=5)
