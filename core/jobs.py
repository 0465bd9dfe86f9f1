"""Periodic jobs: what a job is, and the runner that schedules them.

Each package declares its own jobs in its ``scheduled.py`` (``JOBS``); the
app (the composition root) hands the runner the list. A job is a plain
function ``run(job: JobContext)`` that does its database work in the session
it is given; the runner owns the transaction (commit on success, rollback on
error). Every process runs the scheduler, but a round first takes a
transaction-scoped advisory lock keyed by the job's *name*, so with several
server processes each job runs in one of them at a time, and reordering or
adding jobs in a rolling deploy can never give two jobs one key.

Rounds are timed from each job's last run as stored in ``job_runs``, not
from the process's start: a job that is due runs as soon as a process
starts, so a server that restarts faster than a job's interval (a crash
loop) cannot starve it, and with several processes a job runs once per
interval in all of them together, not once per process.

APScheduler triggers the rounds; the database work runs in worker threads,
so the event loop serving websockets never waits on it. Time comes from the
app's injectable clock.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import DateTime, String, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from core.audit import AuditLog
from core.clock import Clock
from core.db import Base, log_failure
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
    # The runner defers the job's audit rows to the end of its round. Appending
    # to the chain takes the chain's advisory lock until commit, so a job that
    # audits its first of 5,000 supervisees and then works on the rest would
    # make every audited request (a login) wait for the whole round: measured,
    # a login waited over 60 s behind the daily risk job of a 5,000-person office.
    defer_audit: bool = False
    _pending: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def record(self, action: str, object_type: str | None = None, object_id: object = None, *,
               outcome: str = "ok", detail: dict[str, Any] | None = None) -> None:
        """Append an audit row for this job's action, in its transaction (at its end when deferred)."""
        row = dict(action=action, object_type=object_type, object_id=object_id, outcome=outcome, detail=detail)
        if self.defer_audit:
            self._pending.append(row)
        else:
            self.audit.record(self.db, JOB_REQUEST, **row)

    def write_deferred_audit(self) -> None:
        """Write the rows ``record`` deferred, in order, just before the runner commits."""
        rows, self._pending[:] = list(self._pending), []
        for row in rows:
            self.audit.record(self.db, JOB_REQUEST, **row)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[JobContext], Any]
    every: Callable[[Settings], float]  # seconds between rounds, from settings


class JobRun(Base):
    """When each job last ran (shared by every process: the schedule survives restarts)."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# A round this close to its due time counts as due: timers of several
# processes never line up exactly, and skipping for a few milliseconds
# would push the job a whole interval late.
_SLACK = timedelta(seconds=1)


def last_runs(db: Session) -> dict[str, datetime]:
    """The stored last-run time of every job that has run."""
    return {name: at for name, at in db.execute(select(JobRun.name, JobRun.last_run_at))}


def job_lock_key(name: str) -> int:
    """A stable advisory-lock key for a job name (a signed 64-bit integer)."""
    digest = hashlib.sha256(b"zhijiao.job:" + name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def run_job(job: Job, session_factory: Callable[[], Any], *, now: datetime, settings: Settings,
            audit: AuditLog, force: bool = False) -> Any:
    """One round of one job, in its own transaction, if it is due and no other process is running it."""
    with session_factory() as db:
        got = db.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": job_lock_key(job.name)}).scalar()
        if not got:
            return None
        last = db.scalar(select(JobRun.last_run_at).where(JobRun.name == job.name))
        if not force and last is not None and now < last + timedelta(seconds=job.every(settings)) - _SLACK:
            db.rollback()
            return None  # another process ran it within this interval
        try:
            ctx = JobContext(db=db, now=now, settings=settings, audit=audit, defer_audit=True)
            result = job.run(ctx)
            ctx.write_deferred_audit()
            db.execute(insert(JobRun).values(name=job.name, last_run_at=now).on_conflict_do_update(
                index_elements=[JobRun.name], set_={"last_run_at": now}))
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

    async def _round(self, job: Job, *, force: bool = False) -> None:
        try:
            await asyncio.to_thread(run_job, job, self.session_factory, now=self.clock.now(),
                                    settings=self.settings, audit=self.audit, force=force)
        except Exception as exc:  # noqa: BLE001 - one failed round must not stop the schedule; the next retries
            log_failure(log, "job %s failed; the next round retries", exc, job.name)

    def _stored_runs(self) -> dict[str, datetime]:
        try:
            with self.session_factory() as db:
                return last_runs(db)
        except Exception as exc:  # noqa: BLE001 - no database yet: every job is due, and its round will say why
            log_failure(log, "could not read the jobs' last runs; running every job now", exc)
            return {}

    async def start(self) -> None:
        """Schedule every job from its stored last run: a job that is due runs now."""
        stored = await asyncio.to_thread(self._stored_runs)
        now = self.clock.now()
        for job in self.jobs.values():
            every = job.every(self.settings)
            last = stored.get(job.name)
            delay = 0.0 if last is None else max(0.0, (last + timedelta(seconds=every) - now).total_seconds())
            # The first round is in wall-clock seconds from now (APScheduler's
            # clock); later rounds follow the interval and re-check "due" in run_job.
            first = datetime.now(self.scheduler.timezone) + timedelta(seconds=delay)
            self.scheduler.add_job(self._round, "interval", args=[job], seconds=every, id=job.name,
                                   max_instances=1, coalesce=True, next_run_time=first)
        self.scheduler.start()
        self.tasks.extend(asyncio.create_task(loop()) for loop in self.loops)

    async def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        for name in self.final:
            await self._round(self.jobs[name], force=True)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
