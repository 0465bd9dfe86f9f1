"""Camera grab benchmark: grabs per second through the GrabPool, healthy vs with hung cameras.

Loopback fixture cameras (tests/cameras_fixture.py): half MJPEG streams (read by
OpenCV/FFmpeg), half snapshot URLs (httpx), 320×240 generated frames. Two runs
in the same process, same pool size and deadline:

- ``baseline``: every camera healthy;
- ``one_in_ten_hung``: every tenth grab is a black hole (accepts, never answers),
  so it holds a worker for the whole worker budget (deadline minus a margin).

Each run reports grabs/s (wall), the healthy grabs' median and p95 latency,
and how many grabs timed out or had their worker killed. The pool is warmed
up (workers spawned) before timing. Run: ./dev bench camera_grabs [--grabs N]
[--workers W] [--deadline S]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cameras_fixture import camera_servers  # noqa: E402
from video.camera_url import check_camera_url  # noqa: E402
from video.capture import GrabPool  # noqa: E402


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)] if values else 0.0


def run(pool: GrabPool, healthy_urls: list, hung_url, grabs: int, hung_every: int | None) -> dict:
    """``grabs`` grabs submitted at once; every ``hung_every``-th one to the black hole."""
    plan = [hung_url if hung_every and i % hung_every == hung_every - 1 else healthy_urls[i % 2] for i in range(grabs)]
    kills = pool.kills
    start = time.monotonic()
    futures = [(url is hung_url, pool.submit(url)) for url in plan]
    results = [(hung, f.result()) for hung, f in futures]
    wall = time.monotonic() - start
    healthy_ms = [r.elapsed_ms for hung, r in results if not hung and r.ok]
    return {
        "grabs": len(results), "wall_s": round(wall, 2), "grabs_per_s": round(len(results) / wall, 1),
        "ok": sum(r.ok for _, r in results), "timeouts": sum(r.error == "timeout" for _, r in results),
        "busy": sum(r.error == "busy" for _, r in results), "workers_killed": pool.kills - kills,
        "healthy_ms_p50": round(statistics.median(healthy_ms), 1) if healthy_ms else None,
        "healthy_ms_p95": round(_p95(healthy_ms), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grabs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--deadline", type=float, default=10.0, help="seconds (ZHIJIAO_CAMERA_GRAB_DEADLINE_SECONDS)")
    args = parser.parse_args()
    loop = ["127.0.0.0/8"]
    with camera_servers(fps=25) as cams, GrabPool(workers=args.workers, deadline_s=args.deadline,
                                                  max_queue=args.grabs) as pool:
        healthy = [check_camera_url(cams.mjpeg, networks=loop), check_camera_url(cams.still, networks=loop)]
        hole = check_camera_url(cams.black_hole, networks=loop)
        warm = [pool.submit(healthy[i % 2]) for i in range(args.workers * 2)]
        assert all(f.result().ok for f in warm), "fixture cameras did not answer"
        cpu = time.process_time()
        baseline = run(pool, healthy, hole, args.grabs, None)
        hung = run(pool, healthy, hole, args.grabs, 10)
        cpu = time.process_time() - cpu
    print(json.dumps({
        "benchmark": "camera_grabs", "workers": args.workers, "deadline_s": args.deadline,
        "frame": "320x240 JPEG, half MJPEG (OpenCV) half snapshot (httpx)",
        "baseline": baseline, "one_in_ten_hung": hung,
        "hung_throughput_ratio": round(hung["grabs_per_s"] / baseline["grabs_per_s"], 3),
        "parent_cpu_s": round(cpu, 2), "cpus": os.cpu_count(), "python": platform.python_version(),
    }, indent=2))


if __name__ == "__main__":
    main()
