"""Lifecycle jobs (core.jobs), on the injectable clock; the runner commits.

- ``term_reminders``: a notice on the alert feed ``term_reminder_days`` (30, 7)
  before a term ends, once per term end and N (``term_reminders`` rows); when
  several are due at once (a late registration) only the nearest is sent.
- ``term_end``: at the term's end instant, the supervision ends (lifecycle.term).
- ``purge``: releases whose ``purge_due_at`` has passed, without an active
  legal hold, have their operational data purged (lifecycle.purge).
- ``fix_thinning``: PIPL minimisation while supervision runs (geo.purge.thin_fixes).

The term-end steps and the retentions come from the composition root, so
``jobs(...)`` builds the job list with them.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select

from alerts.facts import Subject, TermEnding
from alerts.intake import apply_facts
from core.clock import ManualClock
from core.context import Ctx
from core.jobs import JOB_REQUEST, Job, JobContext
from core.localtime import LOCAL_TZ
from core.retention import Retention
from geo.purge import thin_fixes
from lifecycle.models import Release, TermReminder
from lifecycle.purge import active_hold, purge_supervisee
from lifecycle.term import TermEndStep, release, term_end_instant
from supervision.models import Supervisee, SuperviseeStatus


def job_ctx(job: JobContext) -> Ctx:
    """A service context for a job: no caller, the job's own instant as the clock."""
    return Ctx(db=job.db, request=JOB_REQUEST, audit=job.audit, settings=job.settings, clock=ManualClock(job.now))


def send_term_reminders(job: JobContext) -> int:
    """Notices for terms ending within the reminder days; returns notices sent."""
    db, now = job.db, job.now
    days = sorted(set(job.settings.lifecycle.term_reminder_days))
    if not days:
        return 0
    horizon = (now.astimezone(LOCAL_TZ) + timedelta(days=max(days))).date()
    rows = db.scalars(select(Supervisee).where(Supervisee.status != SuperviseeStatus.ended,
                                               Supervisee.term_end <= horizon).order_by(Supervisee.id))
    sent = 0
    for sup in rows:
        end = term_end_instant(sup.term_end)
        due = [d for d in days if end - timedelta(days=d) <= now < end]
        done = set(db.scalars(select(TermReminder.days_before).where(
            TermReminder.supervisee_id == sup.id, TermReminder.term_end == sup.term_end)))
        if not due or set(due) <= done:
            continue
        nearest = min(due)
        days_left = -(-(end - now) // timedelta(days=1))  # whole days, rounded up: "in 1 day" until the end
        [[alert_id]] = apply_facts(db, Subject(sup.id, sup.office_id, sup.tier),
                                   [TermEnding(term_end=sup.term_end.isoformat(), days_before=nearest,
                                               days_left=days_left)],
                                   now=now, cfg=job.settings.alerts)
        for d in set(due) - done:
            db.add(TermReminder(supervisee_id=sup.id, term_end=sup.term_end, days_before=d, alert_id=alert_id,
                                sent_at=now))
        job.record("term.reminder", "supervisee", sup.id,
                   detail={"term_end": sup.term_end.isoformat(), "days_before": nearest, "alert_id": alert_id})
        sent += 1
    db.flush()
    return sent


def end_terms(job: JobContext, *, steps: Sequence[TermEndStep]) -> list[int]:
    """End every supervision whose term is over, at its end instant; returns their ids.

    A suspended supervision ends too: the term runs by the calendar (a court's
    decision, not our monitoring state), and its devices and fences must stop with it."""
    today = job.now.astimezone(LOCAL_TZ).date()
    rows = list(job.db.scalars(select(Supervisee).where(
        Supervisee.status != SuperviseeStatus.ended, Supervisee.term_end < today)
        .order_by(Supervisee.id).with_for_update(of=Supervisee, skip_locked=True)))
    ctx = job_ctx(job)
    ended = []
    for sup in rows:
        at = term_end_instant(sup.term_end)
        if at > job.now:
            continue
        release(ctx, sup, kind="term_end", at=at, reason="矫正期满 · term served (Law art. 44)", released_by=None,
                steps=steps)
        ended.append(sup.id)
    return ended


def run_purges(job: JobContext, *, retentions: Sequence[Retention]) -> list[int]:
    """Purge every released person whose retention period is over and who has no active hold."""
    ctx = job_ctx(job)
    due = list(job.db.scalars(select(Release).where(Release.purge_due_at <= job.now, Release.purged_at.is_(None))
                              .order_by(Release.id).with_for_update(skip_locked=True)))
    purged = []
    for rel in due:
        # The person's row is the lock a hold is set under (lifecycle.service.set_hold): a hold
        # committed while this round runs is seen here, never purged past.
        job.db.execute(select(Supervisee.id).where(Supervisee.id == rel.supervisee_id).with_for_update())
        hold = active_hold(ctx, rel.supervisee_id)
        if hold is not None:
            continue  # the hold's own audit row says why; checked again every round
        purge_supervisee(ctx, rel.supervisee_id, retentions=retentions, now=job.now)
        rel.purged_at = job.now
        purged.append(rel.supervisee_id)
    job.db.flush()
    return purged


def run_thinning(job: JobContext) -> int:
    cfg = job.settings.lifecycle
    before = job.now - timedelta(days=cfg.fix_thinning_days)
    deleted = thin_fixes(job.db, before=before, keep_minutes=cfg.fix_thinning_keep_minutes)
    if deleted:
        job.record("fixes.thin", None, None, detail={"deleted": deleted, "before": before.isoformat(),
                                                      "keep_minutes": cfg.fix_thinning_keep_minutes})
    return deleted


def jobs(*, steps: Sequence[TermEndStep], retentions: Sequence[Retention]) -> tuple[Job, ...]:
    """The lifecycle jobs, with the composition root's term-end steps and retentions."""
    every = lambda s: s.lifecycle.lifecycle_check_seconds  # noqa: E731
    return (
        Job("term_reminders", send_term_reminders, every),
        Job("term_end", lambda job: end_terms(job, steps=steps), every),
        Job("purge", lambda job: run_purges(job, retentions=retentions), every),
        Job("fix_thinning", run_thinning, lambda s: s.lifecycle.fix_thinning_check_seconds),
    )
