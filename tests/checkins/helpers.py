"""Running the check-in scheduler on the manual clock, as the job runner would."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from checkins.models import CheckinOccurrence
from checkins.schedule import JOB_NAME, RoundResult, run_schedule
from core.jobs import JobRun


def tick(db: Session, job, now: datetime) -> RoundResult:
    """One scheduler round at ``now``, then its last-run time stored (what core.jobs.run_job does)."""
    result = run_schedule(job(now))
    row = db.get(JobRun, JOB_NAME)
    if row is None:
        db.add(JobRun(name=JOB_NAME, last_run_at=now))
    else:
        row.last_run_at = now
    db.flush()
    return result


def run_for(db: Session, job, start: datetime, end: datetime, step: timedelta) -> None:
    now = start
    while now <= end:
        tick(db, job, now)
        now += step


def occurrences(db: Session, supervisee_id: int) -> list[CheckinOccurrence]:
    return list(db.scalars(select(CheckinOccurrence).where(CheckinOccurrence.supervisee_id == supervisee_id)
                           .order_by(CheckinOccurrence.opens_at)))
