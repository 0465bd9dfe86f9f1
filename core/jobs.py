"""Periodic jobs: what a job is, and the runner that schedules them.

Each package declares its own jobs in its ``scheduled.py`` (``JOBS``); the
app (the composition root) hands the runner the list. A job is a plain
function ``run(job: JobContext)`` that does its database work in the session
it is given; the runner owns the transaction (commit on success, rollback on
error). Every process runs the scheduler, but a round first takes a
transaction-scoped advisory lock keyed by the job's *name*, so with several
server processes each job runs in one of them at a time, and reordering or
adding jobs in a rolling deploy can never give two jobs one key.

APScheduler triggers the rounds; the database work runs in worker threads,
so the event loop serving websockets never waits on it. Time comes from the
app's injectable clock.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from core.audit import AuditLog
from core.clock import Clock
from core.db import database_outage_reason, is_database_outage
from core.principal import RequestContext
from core.settings import Settings

log = logging.getLogger("zhijiao.jobs")

# Jobs have no caller: their audit rows carry no actor and source "scheduler".
JOB_REQUEST = RequestContext(principal=None, source_addr="scheduler")


@dataclass(frozen=True)
class JobContext:
    """What one round of a job works with."""

    db: Session
    now: datetime
    settings: Settings
    audit: AuditLog

    def record(self, action: str, object_type: str | None = None, object_id: object = None, *,
               outcome: str = "ok", detail: dict[str, Any] | None = None) -> None:
        """Append an audit row for this job's action, in its transaction."""
        self.audit.record(self.db, JOB_REQUEST, action=action, object_type=object_type, object_id=object_id,
                          outcome=outcome, detail=detail)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[JobContext], Any]
    every: Callable[[Settings], float]  # seconds between rounds, from settings


def job_lock_key(name: str) -> int:
    """A stable advisory-lock key for a job name (a signed 64-bit integer)."""
    digest = hashlib.sha256(b"zhijiao.job:" + name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def run_job(job: Job, session_factory: Callable[[], Any], *, now: datetime, settings: Settings,
            audit: AuditLog) -> Any:
    """One round of one job, in its own transaction, if no other process is running it."""
    with session_factory() as db:
        got = db.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": job_lock_key(job.name)}).scalar()
        if not got:
            return None
        try:
            result = job.run(JobContext(db=db, now=now, settings=settings, audit=audit))
            db.commit()
            return result
        except Exception:
            db.rollback()
            raise


class JobRunner:
    """Schedules the given jobs, and runs long-lived background loops, for one process."""

    def __init__(self, jobs: Sequence[Job], *, session_factory: sessionmaker[Session], clock: Clock,
                 settings: Settings, audit: AuditLog,
                 loops: Sequence[Callable[[], Awaitable[None]]] = (), final: Sequence[str] = ()) -> None:
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique (they are lock keys): {names}")
        self.jobs = {job.name: job for job in jobs}
        self.loops = loops
        self.final = final  # jobs run once more at shutdown
        self.session_factory, self.clock, self.settings, self.audit = session_factory, clock, settings, audit
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.tasks: list[asyncio.Task] = []

    async def _round(self, job: Job) -> None:
        try:
            await asyncio.to_thread(run_job, job, self.session_factory, now=self.clock.now(),
                                    settings=self.settings, audit=self.audit)
        except Exception as exc:  # noqa: BLE001 - one failed round must not stop the schedule; the next retries
            if is_database_outage(exc):
                log.error("job %s: database unavailable (%s); the next round retries", job.name,
                          database_outage_reason(exc))
            else:
                log.exception("job %s failed", job.name)

    def start(self) -> None:
        for job in self.jobs.values():
            self.scheduler.add_job(self._round, "interval", args=[job], seconds=job.every(self.settings),
                                   id=job.name, max_instances=1, coalesce=True)
        self.scheduler.start()
        self.tasks.extend(asyncio.create_task(loop()) for loop in self.loops)

    async def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        for name in self.final:
            await self._round(self.jobs[name])
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
