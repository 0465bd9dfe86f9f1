"""Cameras' periodic job: grab the frames of pending snapshot requests (cameras/snapshots.py)."""
from __future__ import annotations

from cameras.snapshots import grab_pending
from core.jobs import Job, JobContext


def run_snapshots(job: JobContext) -> dict[str, int]:
    return grab_pending(job)


JOBS = (Job("camera_snapshots", run_snapshots, lambda s: s.cameras.camera_snapshot_seconds),)
