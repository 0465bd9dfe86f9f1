"""Every periodic job runs with the injectable clock and is wired to a real function."""
from __future__ import annotations

from datetime import timedelta

from api.app import JOBS
from core.jobs import JobRunner, job_lock_key


def test_every_job_runs_once(job, settings, clock, tmp_path):
    settings.audit.audit_checkpoint_path = tmp_path / "checkpoints.jsonl"
    for declared in JOBS:
        declared.run(job(clock.now() + timedelta(hours=1)))
    assert {j.name for j in JOBS} >= {"escalation", "silence", "overdue_returns", "standing_permits",
                                      "audit_checkpoint"}


def test_lock_keys_come_from_names_not_positions():
    keys = {job.name: job_lock_key(job.name) for job in JOBS}
    assert len(set(keys.values())) == len(keys)
    assert keys == {job.name: job_lock_key(job.name) for job in reversed(JOBS)}
    assert all(-(2**63) <= key < 2**63 for key in keys.values())


def test_intervals_come_from_settings(settings):
    settings.ingest.silence_check_seconds = 7.5
    settings.leave.leave_permit_check_seconds = 123.0
    every = {job.name: job.every(settings) for job in JOBS}
    assert every["silence"] == 7.5 and every["standing_permits"] == 123.0


def test_duplicate_job_names_are_refused(settings, clock):
    import pytest

    with pytest.raises(ValueError):
        JobRunner([JOBS[0], JOBS[0]], session_factory=None, clock=clock, settings=settings, audit=None)
