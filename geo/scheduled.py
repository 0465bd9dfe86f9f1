"""The geo package's periodic jobs, for the app's job runner (core.jobs)."""
from __future__ import annotations

from core.jobs import Job, JobContext
from geo.ingest.silence import check_silence


def raise_signal_lost(job: JobContext) -> list[int]:
    """Raise "signal lost" for supervisees whose devices went silent past their tier's limit."""
    return check_silence(job.db, now=job.now, settings=job.settings)


JOBS: tuple[Job, ...] = (
    Job("silence", raise_signal_lost, lambda s: s.ingest.silence_check_seconds),
)
