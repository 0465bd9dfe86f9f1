"""Leave jobs, run by the job runner (core.jobs) with the injectable clock; the runner commits.

- ``check_overdue_returns``: an approved leave not reported back (销假) by its
  return time plus the grace period raises one "overdue_return" alert
  (cause ``leave:<id>:overdue``). ``overdue_alert_id`` marks it raised, so
  the alert is raised once even after an officer resolves it.
- ``activate_standing_permits``: keeps occurrence fences of approved permits
  made ``leave_permit_horizon_days`` ahead, and marks lapsed permits ended.

Both are declared in ``JOBS`` for the app's job runner (core.jobs).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerts.facts import LeaveOverdue, Subject
from alerts.intake import apply_facts
from core.jobs import Job, JobContext
from core.localtime import LOCAL_TZ
from leave.models import LeaveRequest, LeaveStatus, StandingPermit
from leave.permits import schedule_occurrences
from supervision.models import Supervisee

def check_overdue_returns(job: JobContext) -> list[int]:
    """Raise "overdue_return" for every leave past its return time plus grace; returns alert ids."""
    db, now, settings = job.db, job.now, job.settings
    grace = timedelta(hours=settings.leave.leave_return_grace_hours)
    rows = db.execute(
        select(LeaveRequest, Supervisee).join(Supervisee, Supervisee.id == LeaveRequest.supervisee_id)
        .where(LeaveRequest.parent_id.is_(None), LeaveRequest.status == LeaveStatus.approved,
               LeaveRequest.returned_at.is_(None), LeaveRequest.overdue_alert_id.is_(None),
               LeaveRequest.return_due_at + grace <= now)
        .order_by(LeaveRequest.id).with_for_update(of=LeaveRequest, skip_locked=True)
    ).all()
    raised = []
    for leave, sup in rows:
        fact = LeaveOverdue(leave_id=leave.id, return_due_at=leave.return_due_at,
                            grace_hours=grace.total_seconds() / 3600, address=leave.address)
        [[alert_id]] = apply_facts(db, Subject(sup.id, sup.office_id, sup.tier), [fact], now=now,
                                   cfg=settings.alerts)
        leave.overdue_alert_id = alert_id
        job.record("leave.overdue", "leave", leave.id, detail={"supervisee_id": sup.id, "alert_id": alert_id})
        raised.append(alert_id)
    db.flush()
    return raised


def activate_standing_permits(job: JobContext) -> int:
    """Create the coming occurrence fences of approved permits; end lapsed ones. Returns fences made."""
    db, now, cfg = job.db, job.now, job.settings.leave
    today = now.astimezone(LOCAL_TZ).date()
    permits = db.scalars(select(StandingPermit).where(
        StandingPermit.status == LeaveStatus.approved, StandingPermit.ended_at.is_(None))
        .order_by(StandingPermit.id).with_for_update(skip_locked=True))
    made = 0
    for permit in permits:
        if permit.valid_until < today:
            permit.ended_at = now  # its last occurrence fence already ended with its window
            job.record("permit.lapse", "permit", permit.id, detail={"supervisee_id": permit.supervisee_id})
            continue
        made += schedule_occurrences(db, permit, now=now, horizon_days=cfg.leave_permit_horizon_days,
                                     created_by=None)
    db.flush()
    return made


JOBS: tuple[Job, ...] = (
    Job("overdue_returns", check_overdue_returns, lambda s: s.leave.leave_overdue_check_seconds),
    Job("standing_permits", activate_standing_permits, lambda s: s.leave.leave_permit_check_seconds),
)
