"""Jobs run from their stored last-run times (core.jobs), so restarts cannot starve them.

Issue 12, hole 10: each job used to fire first one full interval after a
process started, so a server restarting faster than that (a crash loop) never
escalated, never checkpointed. Now a due job runs as soon as a process starts,
and several processes together run a job once per interval.
"""
from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from api.app import JOBS
from core.audit import AuditLog
from core.clock import SystemClock
from core.db import sqlalchemy_url
from core.jobs import Job, JobRun, run_job
from core.principal import RequestContext
from core.settings import Settings
from tests.alerts.alert_helpers import make_alert
from tests.conftest import migrated_database
from tests.factories import build_world
from tests.servers import start_server


def _counting_job(calls: list) -> Job:
    return Job("test_counter", lambda job: calls.append(job.now), lambda s: 60.0)


def test_a_round_runs_only_when_due_and_stores_its_time(db, settings, clock):
    calls: list = []
    job, audit = _counting_job(calls), AuditLog(settings.audit.audit_key.encode(), clock)
    session = lambda: nullcontext(db)  # noqa: E731
    t0 = clock.now()
    run_job(job, session, now=t0, settings=settings, audit=audit)
    run_job(job, session, now=t0 + timedelta(seconds=30), settings=settings, audit=audit)  # not due: skipped
    run_job(job, session, now=t0 + timedelta(seconds=60), settings=settings, audit=audit)
    run_job(job, session, now=t0 + timedelta(seconds=61), settings=settings, audit=audit, force=True)
    assert calls == [t0, t0 + timedelta(seconds=60), t0 + timedelta(seconds=61)]
    assert db.scalar(select(JobRun.last_run_at).where(JobRun.name == "test_counter")) == t0 + timedelta(seconds=61)


def test_a_server_restarting_faster_than_the_intervals_still_escalates_and_checkpoints(server_url):
    """Four restarts of ~1.5 s uptime each, intervals of 60 s: before the fix no job ever ran."""
    with migrated_database(server_url, "zj_jobs") as url:
        engine = create_engine(sqlalchemy_url(url))
        settings, clock = Settings(), SystemClock()
        with Session(engine, expire_on_commit=False) as db:
            world = build_world(db, settings, clock)
            alert = make_alert(db, world, clock, now=datetime.now(UTC) - timedelta(minutes=30))
            AuditLog(settings.audit.audit_key.encode(), clock).record(
                db, RequestContext(principal=None, source_addr="test"), action="test.setup")  # a head to checkpoint
            db.commit()
        checkpoints = os.path.join(tempfile.mkdtemp(prefix="zj-jobs-"), "cp.jsonl")
        env = dict(ZHIJIAO_ESCALATION_INTERVAL_SECONDS="60", ZHIJIAO_AUDIT_CHECKPOINT_SECONDS="60",
                   ZHIJIAO_AUDIT_CHECKPOINT_PATH=checkpoints, ZHIJIAO_JOBS_ENABLED="true")
        try:
            for _ in range(4):
                proc, _base = start_server(url, **env)
                time.sleep(1.5)
                proc.send_signal(signal.SIGKILL)  # a crash: no clean shutdown, no final checkpoint
                proc.wait(10)
            with Session(engine) as db:
                level = db.scalar(select(type(alert).escalation_level).where(type(alert).id == alert.id))
                runs = {r.name: r.last_run_at for r in db.scalars(select(JobRun))}
            assert level >= 1, "the overdue alert was never escalated"
            with open(checkpoints) as f:
                assert [json.loads(line)["seq"] for line in f], "no audit checkpoint was written"
            assert {job.name for job in JOBS} <= set(runs)
            # Due once, then not again within the interval: one escalation, not one per restart.
            assert level == 1
        finally:
            engine.dispose()
