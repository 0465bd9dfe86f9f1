"""Check-in benchmark: what one check-in costs, one figure per function.

- ``face``: the face pipeline of one check-in (two photos: a neutral selfie
  and the challenge), broken down into photo intake (decode, checks,
  re-encode), detection (YuNet), alignment (dlib 5-point), descriptor (dlib
  ResNet) and pose, plus verify + liveness; run on one thread and timed in
  CPU time, so ``checkins_per_s_per_core`` is 1000 / ``ms_per_checkin``.

- ``scheduler``: the check-in scheduler's day for ``--supervisees`` (default
  700,000, the national caseload) in a scratch database: materialise one day
  of occurrences and judge them at its end (bench/checkin_schedule.py).

Each figure is a function ``name(args) -> dict`` listed in ``FIGURES``; main
prints one JSON object with a key per figure (``--only face`` runs one).
Photographs: tests/data/faces/. Run: ./dev bench checkins
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import dlib  # noqa: E402
import numpy as np  # noqa: E402

from video import face_models  # noqa: E402
from video.face import analyse, liveness, verify  # noqa: E402
from video.photos import sanitize_photo  # noqa: E402
from video.pose import head_pose  # noqa: E402

FACES = ROOT / "tests" / "data" / "faces"


def _ms(fn: Callable[[], object], rounds: int) -> float:
    """Median CPU time of one call in ms (after a warm-up call).

    CPU time of this process, not wall time: on a shared machine the wall
    clock also counts the time other processes held the core, while CPU time
    is what one call costs a core (everything here runs on one thread).
    """
    fn()
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        fn()
        samples.append((time.process_time() - start) * 1000)
    return statistics.median(samples)


def _wall_ms(fn: Callable[[], object], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - start) * 1000 / rounds


def face(args: argparse.Namespace) -> dict:
    """The face pipeline of one check-in on one core."""
    cv2.setNumThreads(1)  # per-core figures: OpenCV would otherwise use every core
    uploads = [(FACES / name).read_bytes() for name in ("person-a-1.jpg", "person-a-2.jpg")]
    references = [analyse(sanitize_photo((FACES / "person-a-3.jpg").read_bytes()).jpeg).descriptor]
    photos = [sanitize_photo(u).jpeg for u in uploads]

    def checkin() -> None:
        neutral, challenge = (analyse(sanitize_photo(u).jpeg) for u in uploads)
        verify(neutral.descriptor, references)
        verify(challenge.descriptor, references)
        liveness(neutral, challenge, "turn_right")

    m = face_models.models(0.8)
    image = cv2.imdecode(np.frombuffer(photos[0], np.uint8), cv2.IMREAD_COLOR)
    m.detector.setInputSize((image.shape[1], image.shape[0]))
    row = m.detector.detect(image)[1][0]
    x, y, w, h = (float(v) for v in row[:4])
    rect = dlib.rectangle(int(x), int(y), int(x + w), int(y + h))
    rgb = np.ascontiguousarray(image[:, :, ::-1])
    shape = m.shape_predictor(rgb, rect)
    points = row[4:14].reshape(5, 2)
    per_photo = {
        "intake_ms": _ms(lambda: sanitize_photo(uploads[0]), args.rounds),
        "detect_ms": _ms(lambda: m.detector.detect(image), args.rounds),
        "align_ms": _ms(lambda: m.shape_predictor(rgb, rect), args.rounds),
        "descriptor_ms": _ms(lambda: m.encoder.compute_face_descriptor(rgb, shape), args.rounds),
        "pose_ms": _ms(lambda: head_pose(points), args.rounds),
    }
    total = _ms(checkin, args.rounds)
    wall = _wall_ms(checkin, max(1, args.rounds // 2))
    return {
        "photos_per_checkin": 2,
        "photo_px": [int(image.shape[1]), int(image.shape[0])],
        "per_photo": {k: round(v, 3) for k, v in per_photo.items()},
        "ms_per_checkin": round(total, 1),
        "checkins_per_s_per_core": round(1000 / total, 2),
        "wall_ms_per_checkin": round(wall, 1),  # inflated when other work shares the cores
        "rounds": args.rounds,
    }


def scheduler(args: argparse.Namespace) -> dict:
    from bench.checkin_schedule import scheduler_figures

    return scheduler_figures(args.supervisees)


FIGURES: dict[str, Callable[[argparse.Namespace], dict]] = {"face": face, "scheduler": scheduler}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=sorted(FIGURES), action="append", help="run only these figures")
    ap.add_argument("--rounds", type=int, default=20, help="timed repetitions per face measurement")
    ap.add_argument("--supervisees", type=int, default=700_000, help="caseload of the scheduler figure")
    args = ap.parse_args()
    result: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "loadavg_1m_before": round(os.getloadavg()[0], 2)}}
    for name in args.only or FIGURES:
        result[name] = FIGURES[name](args)
    result["machine"]["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
