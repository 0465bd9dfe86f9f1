"""Leave jobs, run every minute by the scheduler with the injectable clock; the caller commits.

- ``check_overdue_returns``: an approved leave not reported back (销假) by its
  return time plus the grace period raises one "overdue_return" alert
  (cause ``leave:<id>:overdue``). ``overdue_alert_id`` marks it raised, so
  the alert is raised once even after an officer resolves it.
- ``activate_standing_permits``: keeps occurrence fences of approved permits
  made ``leave_permit_horizon_days`` ahead, and marks lapsed permits ended.

Jobs have no caller, so their audit rows carry no actor and source "scheduler".
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.models import AlertKind
from alerts.raising import raise_alert
from core.audit import AuditLog
from core.clock import ManualClock
from core.principal import RequestContext
from core.report_render import CST
from leave.models import LeaveRequest, LeaveStatus, StandingPermit
from leave.permits import schedule_occurrences
from supervision.models import Supervisee

JOB_CONTEXT = RequestContext(principal=None, source_addr="scheduler")


def _audit(settings, now: datetime) -> AuditLog:
    # The job's audit rows carry the job's time (the injectable clock's), not the wall clock's.
    return AuditLog(settings.audit.audit_key.encode(), ManualClock(now))


def check_overdue_returns(db: Session, *, now: datetime, settings) -> list[int]:
    """Raise "overdue_return" for every leave past its return time plus grace; returns alert ids."""
    grace = timedelta(hours=settings.leave.leave_return_grace_hours)
    rows = db.execute(
        select(LeaveRequest, Supervisee).join(Supervisee, Supervisee.id == LeaveRequest.supervisee_id)
        .where(LeaveRequest.parent_id.is_(None), LeaveRequest.status == LeaveStatus.approved,
               LeaveRequest.returned_at.is_(None), LeaveRequest.overdue_alert_id.is_(None),
               LeaveRequest.return_due_at + grace <= now)
        .order_by(LeaveRequest.id).with_for_update(of=LeaveRequest, skip_locked=True)
    ).all()
    audit, raised = _audit(settings, now), []
    for leave, sup in rows:
        due = leave.return_due_at.astimezone(CST).strftime("%Y-%m-%d %H:%M")
        alert, _ = raise_alert(
            db, now=now, supervisee_id=sup.id, office_id=sup.office_id, tier=sup.tier, kind=AlertKind.overdue_return,
            cause=f"leave:{leave.id}:overdue", title=f"请假逾期未销假 · not back from leave (due {due})",
            occurred_at=leave.return_due_at + grace, flap_limit=settings.alerts.flap_limit_per_hour,
            detail={"leave_id": leave.id, "return_due_at": leave.return_due_at.isoformat(),
                    "grace_hours": grace.total_seconds() / 3600, "address": leave.address})
        leave.overdue_alert_id = alert.id
        audit.record(db, JOB_CONTEXT, action="leave.overdue", object_type="leave", object_id=leave.id,
                     detail={"supervisee_id": sup.id, "alert_id": alert.id})
        raised.append(alert.id)
    db.flush()
    return raised


def activate_standing_permits(db: Session, *, now: datetime, settings) -> int:
    """Create the coming occurrence fences of approved permits; end lapsed ones. Returns fences made."""
    cfg = settings.leave
    today = now.astimezone(CST).date()
    permits = db.scalars(select(StandingPermit).where(
        StandingPermit.status == LeaveStatus.approved, StandingPermit.ended_at.is_(None))
        .order_by(StandingPermit.id).with_for_update(skip_locked=True))
    audit, made = _audit(settings, now), 0
    for permit in permits:
        if permit.valid_until < today:
            permit.ended_at = now  # its last occurrence fence already ended with its window
            audit.record(db, JOB_CONTEXT, action="permit.lapse", object_type="permit", object_id=permit.id,
                         detail={"supervisee_id": permit.supervisee_id})
            continue
        made += schedule_occurrences(db, permit, now=now, horizon_days=cfg.leave_permit_horizon_days,
                                     created_by=None)
    db.flush()
    return made


def run_leave_jobs(db: Session, *, now: datetime, settings) -> dict[str, int]:
    """Both jobs, for a scheduler entry (every minute)."""
    return {"overdue": len(check_overdue_returns(db, now=now, settings=settings)),
            "permit_fences": activate_standing_permits(db, now=now, settings=settings)}
