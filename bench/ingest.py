"""Ingest benchmark: end-to-end fixes/s over HTTP against the real server.

Builds a realistic world in a scratch database (bench/world.py: 5,000
supervisees, 20,000 fences), starts uvicorn, and sends batches of fixes from
many devices concurrently. In the same run it measures, on the same
machine and data:

- ``copy_rows_per_s``: raw COPY of the same rows into a copy of the table
  (the ceiling: no decoding, judging or HTTP);
- ``naive_fixes_per_s``: one INSERT + one PostGIS ST_Contains query per fix,
  one commit per fix (what a home-grown tracker does);
- ``engine_fixes_per_s``: the geofence engine alone (no HTTP, no database).

Prints one JSON object. Run: ./dev bench ingest
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.world import build, create_scratch, drop_scratch  # noqa: E402
from geo.engine.zones import local_to_lonlat  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, env: dict[str, str], workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    # The scratch database gets its own checkpoint file: its audit heads must
    # never land in the development database's file (audit verify would fail).
    scratch = tempfile.mkdtemp(prefix="zj-bench-")
    env = {**env, "ZHIJIAO_AUDIT_CHECKPOINT_PATH": os.path.join(scratch, "cp.jsonl")}
    # The server's output goes to a file: a pipe nobody reads fills up (64 KiB) and
    # then blocks the server on its next log line.
    log = open(os.path.join(scratch, "server.log"), "w+b")  # noqa: SIM115 - the server's lifetime
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env={**env, "ZHIJIAO_DATABASE_URL": url}, stdout=log, stderr=subprocess.STDOUT)
    proc.log_path = log.name  # type: ignore[attr-defined]
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            log.seek(0)
            raise SystemExit("server failed: " + log.read().decode(errors="replace")[-2000:])
        time.sleep(0.1)
    raise SystemExit("server did not start")


def make_batches(world, devices: list[int], batch: int, count: int, rng: np.random.Generator, tag: str):
    """Pre-encoded request bodies: each a device's consecutive fixes near home (5 % near an exclusion zone)."""
    start = datetime.now(UTC) - timedelta(days=2)
    clock = {d: start for d in devices}
    bodies = []
    for k in range(count):
        d = devices[k % len(devices)]
        dist = np.where(rng.random(batch) < 0.05, 1500.0, rng.uniform(0, 60, batch))
        ang = rng.uniform(0, 2 * np.pi, batch)
        lon, lat = local_to_lonlat(dist * np.cos(ang), dist * np.sin(ang), world.home_lon[d], world.home_lat[d])
        fixes = []
        t = clock[d]
        for i in range(batch):
            t += timedelta(seconds=1)
            fixes.append({"id": f"{tag}{k}-{i}", "time": t.isoformat(), "lat": round(float(lat[i]), 7),
                          "lon": round(float(lon[i]), 7), "accuracy": round(float(rng.uniform(5, 40)), 1)})
        clock[d] = t + timedelta(seconds=30)
        bodies.append((d, json.dumps({"fixes": fixes}).encode()))
    return bodies


def drive(base: str, world, bodies, concurrency: int) -> tuple[float, int]:
    def send(item):
        d, body = item
        headers = {"Authorization": f"Bearer {world.secrets[d]}", "Content-Type": "application/json"}
        r = client.post(base + "/ingest/native", content=body, headers=headers, timeout=60)
        r.raise_for_status()
        return r.json()["stored"]

    # No keep-alive: each request takes a fresh connection, so the kernel spreads
    # them over the server worker processes instead of pinning a few to one.
    client = httpx.Client(limits=httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=0))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        stored = sum(pool.map(send, bodies))
    return time.perf_counter() - t0, stored


def copy_ceiling(url: str, limit: int) -> float:
    """COPY the stored rows again into an empty clone of the table."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE fixes_copy (LIKE fixes INCLUDING DEFAULTS INCLUDING INDEXES)")
        rows = conn.execute("SELECT * FROM fixes ORDER BY id LIMIT %s", (limit,)).fetchall()
        conn.commit()
        cols = [d.name for d in conn.execute("SELECT * FROM fixes LIMIT 0").description]
        from psycopg.types.json import Jsonb

        jcols = {i for i, c in enumerate(cols) if c in ("raw", "decisions")}
        rows = [tuple(Jsonb(v) if i in jcols else v for i, v in enumerate(r)) for r in rows]
        t0 = time.perf_counter()
        with conn.cursor().copy(f"COPY fixes_copy ({', '.join(cols)}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
        conn.commit()
        return len(rows) / (time.perf_counter() - t0)


def naive(url: str, world, n: int, rng: np.random.Generator) -> float:
    """One INSERT + one ST_Contains per fix, one commit per fix."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE fixes_naive (LIKE fixes INCLUDING DEFAULTS)")
        conn.execute("CREATE SEQUENCE fixes_naive_id")
        conn.commit()
        fences = {}
        for sid, fid in conn.execute("SELECT supervisee_id, id FROM fences"):
            fences.setdefault(sid, []).append(fid)
        t0 = time.perf_counter()
        start = datetime(2026, 2, 1, tzinfo=UTC)
        for i in range(n):
            d = int(rng.integers(len(world.supervisee_ids)))
            sid = int(world.supervisee_ids[d])
            lon, lat = float(world.home_lon[d]), float(world.home_lat[d])
            conn.execute(
                "INSERT INTO fixes_naive (id, supervisee_id, device_id, dedup_key, fingerprint, t, received_at, lon, lat,"
                " accuracy_m, datum, protocol, raw, purpose) VALUES (nextval('fixes_naive_id'), %s, %s, %s, '', %s, now(),"
                " %s, %s, 10, 'wgs84', 'native', '{}', '信息化核查')",
                (sid, int(world.device_ids[d]), f"n{i}", start + timedelta(seconds=i), lon, lat))
            conn.execute("SELECT fence_id, ST_Contains(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) FROM fence_versions"
                         " WHERE fence_id = ANY(%s)", (lon, lat, fences[sid])).fetchall()
            conn.commit()
        return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--supervisees", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=1000, help="fixes per request")
    ap.add_argument("--requests", type=int, default=240)
    ap.add_argument("--devices", type=int, default=240, help="distinct devices sending the measured batches")
    ap.add_argument("--concurrency", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--naive", type=int, default=1500, help="fixes for the naive baseline")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = ap.parse_args()

    env = dict(os.environ)
    for name in ("JWT_SECRET", "ID_HASH_KEY", "DEVICE_KEY", "AUDIT_KEY"):
        env.setdefault(f"ZHIJIAO_{name}", secrets.token_hex(16))
    rng = np.random.default_rng(1)
    t_setup = time.perf_counter()
    url = create_scratch("zj_bench_ingest")
    try:
        world = build(url, args.supervisees, device_key=env["ZHIJIAO_DEVICE_KEY"])
        setup_s = time.perf_counter() - t_setup
        devices = list(rng.choice(len(world.supervisee_ids), size=args.devices, replace=False))
        warm = make_batches(world, devices, 1, len(devices), rng, "w")
        bodies = make_batches(world, devices, args.batch, args.requests, rng, "m")
        proc, base = start_server(url, env, args.workers)
        try:
            drive(base, world, warm, args.concurrency)  # first contact: fence caches, connections
            seconds, stored = drive(base, world, bodies, args.concurrency)
        finally:
            proc.terminate()
            proc.wait(10)
        e2e = stored / seconds
        copy_rate = copy_ceiling(url, stored)
        naive_rate = naive(url, world, args.naive, rng)
        from bench.engine_world import measure

        engine = measure()["fixes_per_s"]
        with psycopg.connect(url) as conn:
            alerts = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
        print(json.dumps({
            "e2e_fixes_per_s": round(e2e), "copy_rows_per_s": round(copy_rate),
            "naive_fixes_per_s": round(naive_rate), "engine_fixes_per_s": round(engine),
            "e2e_vs_naive": round(e2e / naive_rate, 1), "e2e_vs_copy": round(e2e / copy_rate, 3),
            "fixes_sent": stored, "batch_size": args.batch, "requests": args.requests, "concurrency": args.concurrency,
            "server_workers": args.workers, "supervisees": args.supervisees, "fences": world.fence_count,
            "alerts_raised": alerts, "setup_seconds": round(setup_s, 1), "cpus": os.cpu_count(),
            "machine": platform.machine(), "python": platform.python_version(),
        }))
    finally:
        if not args.keep:
            drop_scratch(url)


if __name__ == "__main__":
    main()
