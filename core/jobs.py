"""The periodic jobs of a server process, declared in one place.

Each job is a plain function ``job(db, *, now, settings)`` that does its
database work in the session it is given; the runner owns the transaction
(commit on success, rollback on error). Every process runs the scheduler,
but a job takes a transaction-scoped advisory lock first, so with several
server processes each job runs in one of them at a time and the others skip
that round. Time comes from the app's injectable clock.

APScheduler triggers the rounds; the database work runs in its worker
threads, so the event loop serving websockets never waits on it.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.settings import Settings

log = logging.getLogger("zhijiao.jobs")
JOB_LOCK_BASE = 0x7A6A_0B00


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[..., Any]  # (db, *, now, settings) -> anything
    every: Callable[[Settings], float]  # seconds between rounds


def _escalation(db: Session, *, now: datetime, settings: Settings) -> Any:
    from alerts.escalation import escalate_due

    return escalate_due(db, now=now, settings=settings)


def _silence(db: Session, *, now: datetime, settings: Settings) -> Any:
    from geo.ingest.silence import check_silence

    return check_silence(db, now=now, cfg=settings.ingest)


def _overdue_returns(db: Session, *, now: datetime, settings: Settings) -> Any:
    from leave.scheduled import check_overdue_returns

    return check_overdue_returns(db, now=now, settings=settings)


def _standing_permits(db: Session, *, now: datetime, settings: Settings) -> Any:
    from leave.scheduled import activate_standing_permits

    return activate_standing_permits(db, now=now, settings=settings)


def _audit_checkpoint(db: Session, *, now: datetime, settings: Settings) -> Any:
    from core.audit_checkpoint_job import write_checkpoint

    return write_checkpoint(db, path=settings.audit.audit_checkpoint_path, key=settings.audit.audit_key.encode(),
                            now=now)


JOBS: tuple[Job, ...] = (
    Job("escalation", _escalation, lambda s: s.alerts.escalation_interval_seconds),
    Job("silence", _silence, lambda s: 60),
    Job("overdue_returns", _overdue_returns, lambda s: 60),
    Job("standing_permits", _standing_permits, lambda s: 900),
    Job("audit_checkpoint", _audit_checkpoint, lambda s: 60),
)


def run_job(job: Job, session_factory, *, now: datetime, settings: Settings) -> Any:
    """One round of one job, in its own transaction, if no other process is running it."""
    index = [j.name for j in JOBS].index(job.name) if job in JOBS else 99
    with session_factory() as db:
        got = db.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": JOB_LOCK_BASE + index}).scalar()
        if not got:
            return None
        try:
            result = job.run(db, now=now, settings=settings)
            db.commit()
            return result
        except Exception:
            db.rollback()
            raise


class JobRunner:
    """Schedules JOBS (plus the webhook delivery loop) for one app."""

    def __init__(self, app) -> None:
        self.app = app
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.tasks: list[asyncio.Task] = []

    async def _round(self, job: Job) -> None:
        state = self.app.state
        try:
            await asyncio.to_thread(run_job, job, state.session_factory, now=state.clock.now(), settings=state.settings)
        except Exception:  # noqa: BLE001 - one failed round must not stop the schedule; the next retries
            log.exception("job %s failed", job.name)

    def start(self) -> None:
        for job in JOBS:
            self.scheduler.add_job(self._round, "interval", args=[job], seconds=job.every(self.app.state.settings),
                                   id=job.name, max_instances=1, coalesce=True)
        self.scheduler.start()
        from alerts.webhooks import webhook_loop

        self.tasks.append(asyncio.create_task(webhook_loop(self.app)))

    async def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        # A last checkpoint, so rows written since the previous one are covered
        # (a tail cut after the newest checkpoint could not be detected).
        await self._round(next(j for j in JOBS if j.name == "audit_checkpoint"))
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
