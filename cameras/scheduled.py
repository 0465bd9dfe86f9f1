"""Cameras' periodic jobs: grab the frames of pending snapshot requests (cameras/snapshots.py), and
probe every camera's health (cameras/health.py)."""
from __future__ import annotations

from cameras.health import probe_cameras, round_seconds
from cameras.snapshots import grab_pending
from core.jobs import Job, JobContext


def run_snapshots(job: JobContext) -> dict[str, int]:
    return grab_pending(job)


def run_health(job: JobContext) -> dict[str, int]:
    return probe_cameras(job)


JOBS = (Job("camera_snapshots", run_snapshots, lambda s: s.cameras.camera_snapshot_seconds),
        Job("camera_health", run_health, lambda s: round_seconds(s.cameras)))
