"""Roll-call jobs, run by the job runner (core.jobs); the runner commits.

- ``rollcalls``: one round of rollcall.grabbing: close the roll-calls past their
  deadline, grab and judge frames for the waiting ones.
"""
from __future__ import annotations

from core.jobs import Job
from rollcall.grabbing import JOB_NAME, run_rollcalls

JOBS: tuple[Job, ...] = (
    Job(JOB_NAME, run_rollcalls, lambda s: s.rollcall.rollcall_check_seconds),
)
