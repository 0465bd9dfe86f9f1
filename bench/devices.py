"""Device-traffic benchmark: a phone fleet posting one fix per request, as Traccar Client,
OsmAnd and OwnTracks do, against the real server on this machine.

N simulated devices (default 5,000; try --devices 50000) in a scratch database (bench/world.py:
each with its permitted area, curfew and two exclusion zones); load from wrk (Debian's, C,
bench/devices.lua): 64 keep-alive connections, each request one native fix of a device, round
robin; backlogs of 20-200 fixes (a phone whose signal came back) from 10 % of the devices per
hour at one fix a minute, i.e. 1 request in 600 is a backlog (``--backlog-share``). In the same run:

- ``ceiling``: the same wrk load against a route that only parses the body and answers OK
  (bench/trivial_app.py), same uvicorn settings: what the web stack allows here;
- ``zhijiao``: the real server, after warm-up runs of the same load until every device has
  sent at least once (its credential and fences cached, as in a fleet's steady state);
  fixes stored are counted in the database, not trusted from the client;
- ``cold``: the first warm-up run, where most requests are a device's first (a fleet
  coming online after a server restart);
- ``batched``: batches of 1,000 fixes per request on the same server (bench/ingest.py's shape);
- ``naive``: one INSERT + one ST_Contains + one commit per fix, in-process (bench/ingest.py).

Prints one JSON object. Run: ./dev bench devices [--devices 50000] [--seconds 30]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import drive, free_port, make_batches, naive, start_server  # noqa: E402
from bench.world import build, create_scratch, drop_scratch  # noqa: E402

LUA = ROOT / "bench" / "devices.lua"


def start_trivial(workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.trivial_app:app", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.post(base + "/ingest/native", json={"fixes": []}, timeout=1)
            return proc, base
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise SystemExit("trivial server failed: " + proc.stderr.read().decode()[-2000:])
            time.sleep(0.1)
    raise SystemExit("trivial server did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def wrk(base: str, devices_file: str, *, seconds: float, connections: int, threads: int, backlog_share: float,
        start_epoch: int, tag: str) -> dict:
    rate = backlog_share / 60  # a device sends 60 requests an hour
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:.0f}s", "--timeout", "10s",
         "-s", str(LUA), base, "--", devices_file, str(threads), str(rate), str(start_epoch), tag],
        capture_output=True, text=True, check=True)
    m = re.search(r"^WRK_RESULT (\{.*\})$", out.stdout, re.M)
    if not m:
        raise SystemExit("wrk printed no result:\n" + out.stdout + out.stderr)
    r = json.loads(m.group(1))
    secs = r["duration_us"] / 1e6
    errors = sum(v for k, v in r.items() if k.startswith("errors_"))
    return {"requests_per_s": round(r["requests"] / secs), "fixes_sent": r["fixes_sent"], "requests": r["requests"],
            "seconds": round(secs, 1), "ack_p50_ms": round(r["p50_us"] / 1000, 1),
            "ack_p99_ms": round(r["p99_us"] / 1000, 1), "ack_max_ms": round(r["max_us"] / 1000, 1),
            "errors": errors, "errors_detail": {k[7:]: v for k, v in r.items() if k.startswith("errors_") and v}}


def stored_fixes(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM fixes").fetchone()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=30, help="length of each measured wrk run")
    ap.add_argument("--warm", type=float, default=20, help="length of each warm-up run (s); they repeat until every device has sent")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (both servers)")
    ap.add_argument("--backlog-share", type=float, default=0.1,
                    help="share of the devices sending one backlog per hour, at one fix a minute")
    ap.add_argument("--batched-requests", type=int, default=40, help="requests of 1,000 fixes for the batched path")
    ap.add_argument("--naive", type=int, default=1500, help="fixes for the naive baseline")
    ap.add_argument("--with-jobs", action="store_true",
                    help="let the server run its periodic jobs too (off by default: on 5,000 fresh supervisees the"
                         " daily risk round and the silence check compete with the load and blur the figure)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: ./dev bench devices installs it (Debian package wrk)")

    env = dict(os.environ)
    if not args.with_jobs:
        env["ZHIJIAO_JOBS_ENABLED"] = "false"
    for name in ("JWT_SECRET", "ID_HASH_KEY", "DEVICE_KEY", "AUDIT_KEY"):
        env.setdefault(f"ZHIJIAO_{name}", secrets.token_hex(16))
    rng = np.random.default_rng(1)
    t_setup = time.perf_counter()
    url = create_scratch("zj_bench_devices")
    tmp = tempfile.mkdtemp(prefix="zj-bench-devices-")
    try:
        world = build(url, args.devices, device_key=env["ZHIJIAO_DEVICE_KEY"])
        devices_file = os.path.join(tmp, "devices.txt")
        with open(devices_file, "w") as f:
            for secret, lon, lat in zip(world.secrets, world.home_lon, world.home_lat):
                f.write(f"{secret} {lon:.7f} {lat:.7f}\n")
        setup_s = time.perf_counter() - t_setup
        load = dict(seconds=args.seconds, connections=args.connections, threads=args.threads,
                    backlog_share=args.backlog_share)
        now = int(time.time())

        proc, base = start_trivial(args.workers)
        try:
            ceiling = wrk(base, devices_file, start_epoch=now - 6 * 3600, tag="c", **load)
        finally:
            stop(proc)

        proc, base = start_server(url, env, args.workers)
        try:
            # Warm: every device has sent at least once (its credential and fences are in
            # the server's caches, as in a fleet's steady state, one fix a minute each).
            # The first round is also the cold figure: most requests a device's first.
            warm = wrk(base, devices_file, **{**load, "seconds": args.warm}, start_epoch=now - 6 * 3600, tag="a")
            cold, warm_requests, rounds = dict(warm), warm["requests"], 1
            # Each worker process has its own caches and a device reaches them in turn: three
            # requests per device and worker warm nearly all of them.
            while warm_requests < 3 * args.devices * args.workers and rounds < 8:  # each round its own 20 min
                warm = wrk(base, devices_file, **{**load, "seconds": args.warm},
                           start_epoch=now - 6 * 3600 + 1200 * rounds, tag=f"a{rounds}")
                warm_requests, rounds = warm_requests + warm["requests"], rounds + 1
            before = stored_fixes(url)
            measured = wrk(base, devices_file, start_epoch=now - 3 * 3600, tag="b", **load)
            measured["fixes_stored"] = stored_fixes(url) - before
            measured["fixes_per_s"] = round(measured["fixes_stored"] / measured["seconds"])
            picks = list(rng.choice(len(world.supervisee_ids), size=min(40, args.devices), replace=False))
            bodies = make_batches(world, picks, 1000, args.batched_requests, rng, "m")
            secs, stored = drive(base, world, bodies, 6)
            batched = {"fixes_per_s": round(stored / secs), "fixes_stored": stored, "batch_size": 1000,
                       "requests": args.batched_requests}
        finally:
            stop(proc)
        naive_rate = naive(url, world, args.naive, rng)
        with psycopg.connect(url) as conn:
            alerts = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
        print(json.dumps({
            "devices": args.devices, "connections": args.connections, "server_workers": args.workers,
            "server_jobs": args.with_jobs,
            "backlog_share": args.backlog_share,
            "zhijiao": measured,
            "cold": {k: cold[k] for k in ("requests_per_s", "ack_p50_ms", "ack_p99_ms", "errors")},
            "warm_up": {"rounds": rounds, "requests": warm_requests, "last_requests_per_s": warm["requests_per_s"],
                        "last_ack_p99_ms": warm["ack_p99_ms"]},
            "ceiling": ceiling, "batched": batched, "naive_fixes_per_s": round(naive_rate),
            "vs_ceiling": round(measured["requests_per_s"] / ceiling["requests_per_s"], 3),
            "vs_naive": round(measured["fixes_per_s"] / naive_rate, 2),
            "alerts_raised": alerts, "setup_seconds": round(setup_s, 1), "cpus": os.cpu_count(),
            "machine": platform.machine(), "python": platform.python_version(),
        }))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not args.keep:
            drop_scratch(url)


if __name__ == "__main__":
    main()
