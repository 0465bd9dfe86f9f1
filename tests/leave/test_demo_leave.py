"""The demo district gets leave requests in every state, made through the leave service."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core.audit import AuditLog
from core.jobs import JobContext
from geo.demo import seed_demo
from leave.demo import seed_demo_leave
from leave.scheduled import check_overdue_returns
from leave.models import LeaveRequest, LeaveStatus


def test_demo_leave_in_every_state_once(db, settings, clock) -> None:
    seed_demo(db, id_hash_key=settings.auth.id_hash_key, today=date.today(), device_key=settings.auth.device_key)
    audit = AuditLog(settings.audit.audit_key.encode(), clock)
    assert seed_demo_leave(db, settings=settings, clock=clock, audit=audit) > 0
    rows = db.scalars(select(LeaveRequest)).all()
    assert {r.status for r in rows} == {s.value for s in LeaveStatus}
    assert any(r.status == "pending" and r.required_level == "bureau" for r in rows)  # for the manager's queue
    # In time: one under way now, one overdue (not reported back), one completed in the past; the rest ahead.
    now = clock.now()
    approved = [r for r in rows if r.status == "approved"]
    assert [r for r in approved if r.depart_at <= now < r.return_due_at and r.returned_at is None]
    assert [r for r in approved if r.return_due_at < now and r.returned_at is None]
    assert [r for r in approved if r.returned_at is not None and r.returned_at <= r.return_due_at < now]
    assert [r for r in rows if r.status in ("pending", "rejected", "withdrawn") and r.depart_at > now]
    overdue = check_overdue_returns(JobContext(db=db, now=now, settings=settings, audit=audit))
    assert len(overdue) == 1  # the seeded overdue leave raises its alert on the job's first round
    assert seed_demo_leave(db, settings=settings, clock=clock, audit=audit) == 0  # seeded once
