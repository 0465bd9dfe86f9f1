"""Alert delivery benchmark: violation -> every entitled officer socket, under ingest load.

Runs the real server (uvicorn subprocess) on a scratch database holding the
bench district (bench/world.py: 5,000 supervisees in 8 offices, 20,000 fences),
connects N officer websockets spread over the offices, drives background
ingest through ``POST /ingest/native`` at a set rate from a separate process
(fixes near home: no alerts) — one measured phase per request shape, batches of
10 and one fix per request (what phones send) — and injects violations: one native batch per
reserved supervisee that leaves the district (two fixes at home, three 65 km
away an hour later), which opens a "left permitted area" alert.

Latency is from just before sending the violating request to the receipt of
the first event about that supervisee at each socket of its office; both
timestamps come from ``time.perf_counter`` in this process. Prints one JSON
object. Run: ./dev bench alerts [--sockets 200 --fixes-per-s 1000 --batches 10,1 --seconds 60 --workers 2
--bus-url postgres]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import start_server  # noqa: E402
from bench.loadgen import request_bytes, run_load  # noqa: E402
from bench.world import build, create_scratch, drop_scratch  # noqa: E402
from core.security import issue_access_token  # noqa: E402
from core.settings import Settings  # noqa: E402

ORIGIN = "http://127.0.0.1:8000"  # the default allow-list entry
OUTSIDE = (118.3, 28.9)  # west of 衢江区, outside every supervisee's permitted area


def add_officers(url: str, n: int) -> list[tuple[int, int]]:
    """n officers spread round-robin over the offices: [(user_id, office_id)]."""
    with psycopg.connect(url) as conn:
        offices = [r[0] for r in conn.execute("SELECT id FROM jurisdictions WHERE level = 'office' ORDER BY id")]
        rows = [conn.execute("INSERT INTO users (username, password_hash, full_name, role, jurisdiction_id)"
                             " VALUES (%s, '!', %s, 'officer', %s) RETURNING id",
                             (f"bench-officer-{i}", f"officer {i}", offices[i % len(offices)])).fetchone()[0]
                for i in range(n)]
        conn.commit()
    return [(uid, offices[i % len(offices)]) for i, uid in enumerate(rows)]


def violation_body(sup: int, home: tuple[float, float], t_end: datetime) -> bytes:
    # Recent, plausible times: at home 35 minutes ago, 65 km west (130 km/h on
    # the highway) for the last ten minutes. Old timestamps would have the
    # silence job raise "signal lost" for the whole district during the run.
    t0 = t_end - timedelta(minutes=35)
    fixes = [{"id": f"v{sup}-h{i}", "time": (t0 + timedelta(minutes=i)).isoformat(), "lon": home[0], "lat": home[1],
              "accuracy": 15} for i in range(2)]
    t1 = t_end - timedelta(minutes=10)
    fixes += [{"id": f"v{sup}-o{i}", "time": (t1 + timedelta(seconds=40 * i)).isoformat(), "lon": OUTSIDE[0],
               "lat": OUTSIDE[1], "accuracy": 30} for i in range(3)]
    return json.dumps({"fixes": fixes}).encode()


# --- background ingest (separate process, so it does not skew our clock readings) -----

def background(base: str, devices: list[tuple[str, float, float]], rate: float, batch: int, seconds: float,
               out: Any) -> None:
    """``rate`` fixes/s near home (no alerts) in requests of ``batch`` fixes; batch 1 is what phones send."""
    rng = np.random.default_rng(batch)
    cursor = [datetime.now(UTC) - timedelta(minutes=30)] * len(devices)
    host = base.split("://", 1)[1]

    def make(k: int) -> bytes:
        i = k % len(devices)
        secret, lon, lat = devices[i]
        fixes = []
        for j in range(batch):
            cursor[i] += timedelta(seconds=10)
            fixes.append({"id": f"b{batch}-{k}-{j}", "time": cursor[i].isoformat(),
                          "lon": lon + float(rng.normal(0, 0.0002)), "lat": lat + float(rng.normal(0, 0.0002)),
                          "accuracy": 20})
        return request_bytes(host, "/ingest/native", secret, json.dumps({"fixes": fixes}).encode())

    result = asyncio.run(run_load(base, make, rate=rate / batch, seconds=seconds))
    ok = result["statuses"].get(200, 0)
    out.put({"fixes": ok * batch, "requests": result["requests"], "seconds": result["seconds"],
             "unsent": result["unsent"],
             "errors": result["errors"] + result["requests"] - ok})


def warm_up(base: str, devices: list[tuple[str, float, float]], when: datetime) -> float:
    """One fix at home from every device before measuring: the steady state of a
    district whose phones have been reporting (fence caches and persistence
    tracks exist), rather than 5,000 first contacts during the measured minute."""
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.perf_counter()
    client = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=16))

    def send(item: tuple[str, float, float]) -> None:
        secret, lon, lat = item
        fix = {"id": "warm", "time": when.isoformat(), "lon": lon, "lat": lat, "accuracy": 20}
        client.post(base + "/ingest/native", json={"fixes": [fix]},
                    headers={"Authorization": f"Bearer {secret}"}).raise_for_status()

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(send, devices))
    client.close()
    return time.perf_counter() - t0


# --- sockets and violations ------------------------------------------------------------

class Socket:
    def __init__(self, office: int) -> None:
        self.office = office
        self.first: dict[int, float] = {}  # supervisee -> receipt time of the first event about it
        self.out_of_scope = 0
        self.events = 0


async def watch(ws_url: str, ticket: str, sock: Socket, ready: asyncio.Event, stop: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    async with connect(ws_url, origin=ORIGIN, open_timeout=30, max_queue=None) as ws:
        await ws.send(json.dumps({"type": "auth", "ticket": ticket, "last_seq": None}))
        snapshot = json.loads(await ws.recv())
        sock.out_of_scope += sum(a["office_id"] != sock.office for a in snapshot["alerts"])
        ready.set()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            now = time.perf_counter()
            message = json.loads(raw)
            if message["type"] != "event":
                continue
            sock.events += 1
            alert = message["alert"]
            if message.get("alert", {}).get("office_id", sock.office) != sock.office:
                sock.out_of_scope += 1
            sock.first.setdefault(alert.get("supervisee_id"), now)


async def measure(args: argparse.Namespace, world, http: httpx.AsyncClient, sockets: list[Socket],
                  office_of: dict[int, int], violators: list[int], bg, out) -> dict[str, Any]:
    """Inject ``violators``' violations over the run while the background load runs; the phase's figures."""
    sent: dict[int, float] = {}
    statuses: dict[int, int] = {}
    answered: dict[int, float] = {}  # violating request -> its HTTP response time
    interval = (args.seconds - 4) / max(1, len(violators))
    t_first = time.perf_counter()
    for k, d in enumerate(violators):
        due = t_first + k * interval
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        sup = int(world.supervisee_ids[d])
        body = violation_body(sup, (float(world.home_lon[d]), float(world.home_lat[d])), datetime.now(UTC))
        sent[sup] = time.perf_counter()
        r = await http.post("/ingest/native", content=body, headers={
            "Authorization": f"Bearer {world.secrets[d]}", "Content-Type": "application/json"})
        statuses[sup] = r.status_code
        answered[sup] = time.perf_counter() - sent[sup]
    background_result = await asyncio.to_thread(out.get, True, args.seconds + 60)
    bg.join(30)
    # Grace period for the last deliveries.
    expected = {(i, sup) for i, s in enumerate(sockets) for sup in sent if office_of[sup] == s.office}
    deadline = time.perf_counter() + 5
    while time.perf_counter() < deadline:
        if all(sup in sockets[i].first for i, sup in expected):
            break
        await asyncio.sleep(0.1)
    latencies = [sockets[i].first[sup] - sent[sup] for i, sup in expected if sup in sockets[i].first]
    t_last = max((sockets[i].first[sup] for i, sup in expected if sup in sockets[i].first), default=t_first)
    ms = np.array(latencies) * 1000 if latencies else np.array([float("nan")])
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "max_ms": round(float(ms.max()), 1),
        "deliveries_per_s": round(len(latencies) / max(1e-9, t_last - t_first), 1),
        "missing": len(expected) - len(latencies),
        "background_fixes_per_s": round(background_result["fixes"] / background_result["seconds"], 1),
        "background_requests_per_s": round(background_result["requests"] / background_result["seconds"], 1),
        "background_errors": background_result["errors"],
        "background_unsent": background_result["unsent"],  # requests the server's pace left no time for
        "violation_request_p50_ms": round(float(np.percentile(list(answered.values()), 50)) * 1000, 1),
        "violation_request_p99_ms": round(float(np.percentile(list(answered.values()), 99)) * 1000, 1),
        "violations": len(sent),
        "violation_requests_failed": sum(1 for s in statuses.values() if s != 200),
        "deliveries": len(latencies),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings()
    url = create_scratch("zj_bench_alerts")
    server = None
    bg = None
    try:
        world = build(url, args.supervisees, device_key=settings.auth.device_key, seed=1)
        officers = add_officers(url, args.sockets)
        with psycopg.connect(url) as conn:
            office_of = dict(conn.execute("SELECT id, office_id FROM supervisees").fetchall())
        bus_url = url if args.bus_url == "postgres" else args.bus_url
        if args.workers > 1 and bus_url.startswith("memory"):
            raise SystemExit("several workers need a bus that crosses processes: --bus-url postgres or nats://…")
        env = {**os.environ, "ZHIJIAO_BUS_URL": bus_url}
        server, base = start_server(url, env, args.workers)
        ws_url = base.replace("http://", "ws://") + "/ws/alerts"
        n = len(world.supervisee_ids)
        violators = list(range(n - args.violations, n))  # reserved: never in the background load
        bg_devices = [(world.secrets[d], float(world.home_lon[d]), float(world.home_lat[d]))
                      for d in range(n - args.violations)]
        everyone = bg_devices + [(world.secrets[d], float(world.home_lon[d]), float(world.home_lat[d]))
                                 for d in violators]
        warm_seconds = warm_up(base, everyone, datetime.now(UTC) - timedelta(minutes=40))

        async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=64)) as http:
            sockets, tasks = [], []
            stop, now = asyncio.Event(), datetime.now(UTC)
            for uid, office in officers:
                token = issue_access_token(settings.auth, user_id=uid, role="officer", now=now).token
                r = await http.post("/ws/tickets", headers={"Authorization": f"Bearer {token}"})
                r.raise_for_status()
                sock, ready = Socket(office), asyncio.Event()
                sockets.append(sock)
                tasks.append(asyncio.create_task(watch(ws_url, r.json()["ticket"], sock, ready, stop)))
                await asyncio.wait_for(ready.wait(), 30)

            phases = {}
            shares = [violators[i::len(args.batches)] for i in range(len(args.batches))]
            for batch, mine in zip(args.batches, shares):
                spawn = mp.get_context("spawn")
                out = spawn.Queue()
                bg = spawn.Process(target=background, args=(base, bg_devices, args.fixes_per_s, batch, args.seconds, out))
                bg.start()
                await asyncio.sleep(2)  # let the background load reach its rate first
                phases["single_fix" if batch == 1 else f"batch_{batch}"] = await measure(
                    args, world, http, sockets, office_of, mine, bg, out)
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
        return {"phases": phases, "sockets": len(sockets), "out_of_scope": sum(s.out_of_scope for s in sockets),
                "bus_url": args.bus_url.split("://")[0] + ("://" if "://" in args.bus_url else ""),
                "server_workers": args.workers, "warm_up_seconds": round(warm_seconds, 1), "cpus": os.cpu_count(),
                "load_average": [round(x, 2) for x in os.getloadavg()]}
    finally:
        if bg is not None and bg.is_alive():
            bg.terminate()
        if server is not None:
            server.terminate()
            server.wait(15)
        drop_scratch(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--fixes-per-s", type=float, default=1000.0)
    parser.add_argument("--batches", type=lambda v: [int(x) for x in v.split(",")], default=[10, 1],
                        help="fixes per background request, one measured phase each (1: one fix per request, "
                             "as phones send)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the measured run")
    parser.add_argument("--violations", type=int, default=240)
    parser.add_argument("--supervisees", type=int, default=5000)
    # A 2-core machine runs two server processes; they need a bus that
    # crosses processes (the scratch database's LISTEN/NOTIFY).
    parser.add_argument("--bus-url", default="postgres",
                        help="memory://, postgres (the scratch database's LISTEN/NOTIFY) or nats://host:port")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
