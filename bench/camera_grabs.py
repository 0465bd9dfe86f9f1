"""Camera grab benchmark: grabs per second through the GrabPool, healthy vs with hung cameras.

Loopback fixture cameras (tests/cameras_fixture.py): half MJPEG streams (read by
OpenCV/FFmpeg), half snapshot URLs (httpx), 320×240 generated frames. Two runs
in the same process, same pool size and deadline:

- ``baseline``: every camera healthy;
- ``one_in_ten_hung``: two of the twenty cameras are black holes (accept, never
  answer), so each grab of them holds a worker for the answer timeout (3 s).

Each run reports grabs/s over all grabs (wall, until the last hung one ends),
``healthy_grabs_per_s`` (healthy grabs / time until the last healthy one was
answered: what the hung cameras cost everyone else), the healthy grabs' median
and p95 latency, and how many grabs timed out or had their worker killed. The pool is warmed
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


def run(pool: GrabPool, cameras: list, hung: set[int], grabs: int) -> dict:
    """``grabs`` grabs submitted at once, round-robin over ``cameras``; those in ``hung`` are black holes."""
    kills = pool.kills
    start = time.monotonic()
    futures = []
    for i in range(grabs):
        n = i % len(cameras)
        future = pool.submit(cameras[n])
        future.add_done_callback(lambda f, t=start: setattr(f, "done_s", time.monotonic() - t))
        futures.append((n in hung, future))
    results = [(h, f.result(), f) for h, f in futures]
    wall = time.monotonic() - start
    healthy = [(r, f) for h, r, f in results if not h]
    healthy_ms = [r.elapsed_ms for r, _ in healthy if r.ok]
    healthy_wall = max(f.done_s for _, f in healthy)
    return {
        "grabs": len(results), "wall_s": round(wall, 2), "grabs_per_s": round(len(results) / wall, 1),
        "healthy_grabs_per_s": round(len(healthy) / healthy_wall, 1),
        "ok": sum(r.ok for _, r, _ in results), "timeouts": sum(r.error == "timeout" for _, r, _ in results),
        "busy": sum(r.error == "busy" for _, r, _ in results), "workers_killed": pool.kills - kills,
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
        # Twenty cameras (distinct streams: the pool grabs one stream at a time), half MJPEG, half snapshots;
        # in the second run two of them (1 in 10) are black holes.
        cameras = [check_camera_url(f"{cams.mjpeg if n % 2 else cams.still}?cam={n}", networks=loop)
                   for n in range(20)]
        holes = [check_camera_url(f"{cams.black_hole}?cam={n}", networks=loop) for n in (9, 19)]
        warm = [pool.submit(cameras[i]) for i in range(args.workers * 2)]
        assert all(f.result().ok for f in warm), "fixture cameras did not answer"
        cpu = time.process_time()
        baseline = run(pool, cameras, set(), args.grabs)
        hung = run(pool, [holes[0] if n == 9 else holes[1] if n == 19 else c for n, c in enumerate(cameras)],
                   {9, 19}, args.grabs)
        cpu = time.process_time() - cpu
    print(json.dumps({
        "benchmark": "camera_grabs", "workers": args.workers, "deadline_s": args.deadline,
        "frame": "320x240 JPEG, half MJPEG (OpenCV) half snapshot (httpx)",
        "baseline": baseline, "one_in_ten_hung": hung,
        "hung_healthy_throughput_ratio": round(hung["healthy_grabs_per_s"] / baseline["healthy_grabs_per_s"], 3),
        "parent_cpu_s": round(cpu, 2), "cpus": os.cpu_count(), "python": platform.python_version(),
    }, indent=2))


if __name__ == "__main__":
    main()
