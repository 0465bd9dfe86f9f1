"""Group commit (geo/ingest/group_commit.py) on a real uvicorn server and PostgreSQL.

- A request is answered only after the commit that holds its fixes: killed
  between writing the group and COMMIT, the server answered no one, and none
  of the fixes is there; let through, every request of the group is answered
  and its fixes share one transaction (the same xmin).
- Out-of-order fixes, all in one merged group, give the same decisions,
  episodes and alerts as the same fixes sent one request at a time in order.
- One request refused (a conflicting duplicate) refuses only itself.
- A device disabled is refused from its next request (the credential cache
  is invalidated in the transaction, not "soon").
"""
from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from shapely.geometry import Point

from core.settings import Settings
from tests.conftest import migrated_database
from tests.factories import World, add_device, add_fence, build_world, seed
from tests.servers import free_port, start_server

ZONE = (118.95, 28.95)  # an exclusion zone of 300 m around it, for "a" and "a2"
FAR = (118.97, 28.95)  # ~2 km east: outside the zone, inside the permitted area


@dataclass
class Scene:
    url: str
    world: World
    secrets: dict[str, str] = field(default_factory=dict)  # device of "a", "a2", "b"
    device_ids: dict[str, int] = field(default_factory=dict)


def _seed(url: str) -> Scene:
    from core.clock import SystemClock

    settings = Settings()

    def build(db) -> Scene:
        world = build_world(db, settings, SystemClock())
        scene = Scene(url, world)
        for key in ("a", "a2", "b"):
            if key != "b":
                add_fence(db, world.supervisees[key], "exclusion", Point(*ZONE), radius_m=300)
            device, scene.secrets[key] = add_device(db, settings, world.supervisees[key])
            scene.device_ids[key] = device.id
        return scene

    return seed(url, build)


@pytest.fixture(scope="module")
def scene(server_url: str) -> Iterator[Scene]:
    with migrated_database(server_url, "zj_group") as url:
        yield _seed(url)


@pytest.fixture(scope="module")
def server(scene: Scene, tmp_path_factory) -> Iterator[str]:
    """Requests arriving within 300 ms of each other are written as one group."""
    log = (tmp_path_factory.mktemp("group") / "server.log").open("w")
    proc, base = start_server(scene.url, log=log, ZHIJIAO_GROUP_WINDOW_MS="300")
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def _fix(fix_id: str, t: datetime, where: tuple[float, float]) -> dict:
    return {"id": fix_id, "time": t.isoformat(), "lon": where[0], "lat": where[1], "accuracy": 10}


def _post(base: str, secret: str, fixes: list[dict], timeout: float = 30) -> httpx.Response:
    return httpx.post(base + "/ingest/native", headers={"Authorization": f"Bearer {secret}"},
                      json={"fixes": fixes}, timeout=timeout)


def _concurrently(calls) -> list:
    """Run the calls at the same moment, one thread each; their results (or exceptions), in order."""
    results: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(k: int) -> None:
        start.wait()
        try:
            results[k] = calls[k]()
        except Exception as exc:  # noqa: BLE001 - the caller inspects it
            results[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def _track(prefix: str, t0: datetime) -> list[dict]:
    """20 fixes 30 s apart: far, 8 in the zone (an episode), far, one alone in the zone (too short), far."""
    places = [FAR] * 5 + [ZONE] * 8 + [FAR] * 3 + [ZONE] + [FAR] * 3
    return [_fix(f"{prefix}-{k:02d}", t0 + timedelta(seconds=30 * k), p) for k, p in enumerate(places)]


def _outcome(url: str, supervisee_id: int) -> dict:
    """What the pipeline decided for a supervisee, without ids that differ between supervisees."""
    with psycopg.connect(url) as conn:
        decisions = conn.execute(
            "SELECT split_part(dedup_key, '-', 2), f.t, (SELECT array_agg(d->>2 || '/' || (d->>3) ORDER BY d->>2)"
            " FROM jsonb_array_elements(f.decisions) d), f.excluded FROM fixes f WHERE supervisee_id = %s"
            " ORDER BY f.t", (supervisee_id,)).fetchall()
        # What stands once every fix is in. Arrival order may open an episode that a later
        # fix disproves (its alert resolved as withdrawn); that is the replay working.
        episodes = conn.execute(
            "SELECT kind, opened_at, closed_at, cardinality(evidence_fix_ids), alert_id IS NOT NULL"
            " FROM violation_episodes WHERE supervisee_id = %s AND NOT withdrawn ORDER BY opened_at",
            (supervisee_id,)).fetchall()
        alerts = conn.execute("SELECT kind, state FROM alerts WHERE supervisee_id = %s"
                              " AND resolution IS DISTINCT FROM 'withdrawn' ORDER BY kind, state",
                              (supervisee_id,)).fetchall()
    return {"decisions": decisions, "episodes": episodes, "alerts": alerts}


def test_out_of_order_fixes_in_one_group_decide_as_in_order(scene: Scene, server: str) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=15)
    # "a": one request at a time, in time order (each its own group).
    for fix in _track("in", t0):
        assert _post(server, scene.secrets["a"], [fix]).status_code == 200
    # "a2": the same track, shuffled, every request at once: one group, out of order.
    shuffled = _track("in", t0)
    random.Random(13).shuffle(shuffled)
    answers = _concurrently([lambda f=f: _post(server, scene.secrets["a2"], [f]) for f in shuffled])
    assert [r.status_code for r in answers] == [200] * len(shuffled), answers
    with psycopg.connect(scene.url) as conn:
        largest = conn.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM fixes WHERE supervisee_id = %s"
                               " GROUP BY xmin::text) AS g", (scene.world.supervisees["a2"].id,)).fetchone()[0]
    # Sent at once, within the 300 ms window: most share one transaction (a loaded
    # machine may start a few threads late).
    assert largest >= 10, f"the concurrent requests were not merged (at most {largest} in one transaction)"
    in_order = _outcome(scene.url, scene.world.supervisees["a"].id)
    merged = _outcome(scene.url, scene.world.supervisees["a2"].id)
    assert len(in_order["decisions"]) == 20
    assert [e[0] for e in in_order["episodes"]] == ["exclusion"], in_order["episodes"]
    assert in_order["alerts"], "the episode raised no alert"
    assert merged == in_order


def test_a_refused_request_refuses_only_itself(scene: Scene, server: str) -> None:
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    dup = f"dup-{uuid.uuid4().hex[:6]}"
    assert _post(server, scene.secrets["b"], [_fix(dup, t, FAR)]).status_code == 200
    calls = [lambda: _post(server, scene.secrets["b"], [_fix(dup, t, ZONE)]),  # same id, other content: 409
             lambda: _post(server, "not-a-device-secret", [_fix("x", t, FAR)])]  # 401
    calls += [lambda k=k: _post(server, scene.secrets["b"], [_fix(f"ok-{dup}-{k}", t + timedelta(seconds=k), FAR)])
              for k in range(1, 6)]
    answers = _concurrently(calls)
    assert [r.status_code for r in answers] == [409, 401] + [200] * 5, [(r.status_code, r.text) for r in answers]
    assert "already received with different content" in answers[0].json()["detail"]
    with psycopg.connect(scene.url) as conn:
        stored = conn.execute("SELECT count(*) FROM fixes WHERE dedup_key LIKE %s", (f"%ok-{dup}-%",)).fetchone()[0]
    assert stored == 5


def test_a_disabled_device_is_refused_from_its_next_request(scene: Scene, server: str) -> None:
    settings = Settings()
    device, secret = seed(scene.url, lambda db: add_device(db, settings, scene.world.supervisees["a2"]))
    t = datetime.now(UTC).replace(microsecond=0)
    assert _post(server, secret, [_fix("before", t - timedelta(seconds=20), FAR)]).status_code == 200
    assert _post(server, secret, [_fix("cached", t - timedelta(seconds=10), FAR)]).status_code == 200
    with psycopg.connect(scene.url) as conn:
        conn.execute("UPDATE devices SET active = false WHERE id = %s", (device.id,))
    r = _post(server, secret, [_fix("after", t, FAR)])
    assert r.status_code == 401, r.text
    with psycopg.connect(scene.url) as conn:
        conn.execute("UPDATE devices SET active = true WHERE id = %s", (device.id,))
        conn.commit()
        conn.execute("UPDATE supervisees SET status = 'ended' WHERE id = %s", (scene.world.supervisees["a2"].id,))
        conn.commit()
        try:
            r = _post(server, secret, [_fix("ended", t, FAR)])
        finally:
            conn.execute("UPDATE supervisees SET status = 'active' WHERE id = %s",
                         (scene.world.supervisees["a2"].id,))
    assert r.status_code == 403 and "supervision is ended" in r.json()["detail"], r.text


def test_killed_before_its_commit_the_server_answered_no_one(server_url: str, tmp_path) -> None:
    with migrated_database(server_url, "zj_group_kill") as url:
        sc = _seed(url)
        port = free_port()
        log = (tmp_path / "server.log").open("w")
        env = {"ZHIJIAO_GROUP_WINDOW_MS": "300", "ZHIJIAO_GROUP_COMMIT_DELAY_SECONDS": "4"}
        t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        fixes = {key: [_fix(f"k-{key}-{n}", t + timedelta(seconds=n), FAR) for n in range(3)] for key in sc.secrets}
        calls = [lambda k=k, f=f: _post(base, sc.secrets[k], [f], timeout=60) for k in fixes for f in fixes[k]]

        def stored() -> int:
            with psycopg.connect(url) as conn:
                return conn.execute("SELECT count(*) FROM fixes WHERE dedup_key LIKE 'k-%'").fetchone()[0]

        proc, base = start_server(url, log=log, port=port, **env)
        results: list = []
        sender = threading.Thread(target=lambda: results.extend(_concurrently(calls)))
        sender.start()
        time.sleep(2.0)  # the group is written and waiting for its COMMIT
        assert stored() == 0  # not committed: nobody else sees the fixes yet...
        assert not results  # ...and no one has been answered
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        sender.join(120)
        assert len(results) == len(calls)
        assert all(isinstance(r, httpx.TransportError) for r in results), results  # no OK, no answer at all
        assert stored() == 0

        # The same requests again, through a server that is not killed: answered only once committed.
        proc, base = start_server(url, log=log, port=port, **env)
        try:
            began = time.monotonic()
            answers = _concurrently(calls)
            took = time.monotonic() - began
        finally:
            proc.terminate()
            proc.wait(10)
        assert [r.status_code for r in answers] == [200] * len(calls), answers
        assert took >= 4.0  # the answers waited for the COMMIT
        assert stored() == len(calls)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(DISTINCT xmin::text) FROM fixes WHERE dedup_key LIKE 'k-%'").fetchone()[0] == 1


def test_the_credential_cache_generation_moves_only_on_what_authentication_reads(scene: Scene) -> None:
    sid, did = scene.world.supervisees["b"].id, scene.device_ids["b"]

    def gen(conn) -> int:
        return conn.execute("SELECT gen FROM device_auth_generation").fetchone()[0]

    with psycopg.connect(scene.url, autocommit=True) as conn:
        g0 = gen(conn)
        conn.execute("UPDATE devices SET last_seen_at = now() WHERE id = %s", (did,))  # ingest's own update
        conn.execute("UPDATE supervisees SET tier = tier WHERE id = %s", (sid,))  # no change
        assert gen(conn) == g0
        for sql in ("UPDATE supervisees SET tier = CASE tier WHEN 'strict' THEN 'ordinary' ELSE 'strict' END"
                    " WHERE id = %s", "UPDATE devices SET kind = 'wristband' WHERE id = %s",
                    "UPDATE devices SET positioning_grade = true WHERE id = %s"):
            before = gen(conn)
            conn.execute(sql, (sid if "supervisees" in sql else did,))
            assert gen(conn) != before, sql
        conn.execute("UPDATE devices SET kind = 'phone', positioning_grade = false WHERE id = %s", (did,))
        conn.execute("UPDATE supervisees SET tier = 'ordinary' WHERE id = %s", (sid,))
        # A rolled-back change leaves a value no later change will give again.
        conn.execute("BEGIN")
        conn.execute("UPDATE devices SET active = false WHERE id = %s", (did,))
        inside = gen(conn)
        conn.execute("ROLLBACK")
        conn.execute("UPDATE devices SET active = true WHERE id = %s", (did,))  # no change: stays
        conn.execute("UPDATE devices SET protocol = 'osmand' WHERE id = %s", (did,))
        assert gen(conn) not in (inside,)
        conn.execute("UPDATE devices SET protocol = 'native' WHERE id = %s", (did,))


def test_a_supervisee_locked_elsewhere_holds_up_only_its_own_requests(scene: Scene, server: str) -> None:
    """Another transaction holds supervisee "a"'s ingest lock (as a long GPX import would):
    "b"'s requests in the same group are answered at once; "a"'s once the lock is free."""
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    tag = uuid.uuid4().hex[:6]
    holder = psycopg.connect(scene.url)
    holder.execute("SELECT pg_advisory_xact_lock(1, %s)", (scene.world.supervisees["a"].id,))
    answered: dict[str, float] = {}
    began = time.monotonic()

    def send(key: str, n: int) -> httpx.Response:
        r = _post(server, scene.secrets[key], [_fix(f"lock-{tag}-{key}-{n}", t + timedelta(seconds=n), FAR)])
        answered[f"{key}{n}"] = time.monotonic() - began
        return r

    results: list = []
    sender = threading.Thread(target=lambda: results.extend(
        _concurrently([lambda n=n: send("a", n) for n in range(2)] + [lambda n=n: send("b", n) for n in range(3)])))
    sender.start()
    try:
        deadline = time.monotonic() + 20
        while sum(k.startswith("b") for k in answered) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sum(k.startswith("b") for k in answered) == 3, answered  # not held up by "a"'s lock
        time.sleep(1.0)
        assert not any(k.startswith("a") for k in answered), answered  # "a" waits for its lock...
    finally:
        holder.rollback()  # ...until the other transaction ends
        holder.close()
    sender.join(60)
    assert [r.status_code for r in results] == [200] * 5, results
    with psycopg.connect(scene.url) as conn:
        stored = conn.execute("SELECT count(*) FROM fixes WHERE dedup_key LIKE %s", (f"lock-{tag}-%",)).fetchone()[0]
    assert stored == 5
