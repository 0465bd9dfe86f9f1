"""The alerts package's periodic jobs, for the app's job runner (core.jobs)."""
from __future__ import annotations

from alerts.escalation import escalate_due
from core.jobs import Job, JobContext


def escalate(job: JobContext) -> list[int]:
    """Escalate unacknowledged alerts whose period has passed."""
    return escalate_due(job.db, now=job.now, settings=job.settings)


JOBS: tuple[Job, ...] = (
    Job("escalation", escalate, lambda s: s.alerts.escalation_interval_seconds),
)
