"""Check-in jobs, run by the job runner (core.jobs) with the injectable clock; the runner commits.

- ``checkins``: one round of the scheduler (checkins.schedule): plans, occurrences
  ahead, windows opening, closed windows judged (missed / missed, system outage).
"""
from __future__ import annotations

from checkins.schedule import JOB_NAME, run_schedule
from core.jobs import Job

JOBS: tuple[Job, ...] = (
    Job(JOB_NAME, run_schedule, lambda s: s.checkins.checkin_check_seconds),
)
