"""The demo district gets leave requests in every state, made through the leave service."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core.audit import AuditLog
from geo.demo import seed_demo
from leave.demo import seed_demo_leave
from leave.models import LeaveRequest, LeaveStatus


def test_demo_leave_in_every_state_once(db, settings, clock) -> None:
    seed_demo(db, id_hash_key=settings.auth.id_hash_key, today=date.today(), device_key=settings.auth.device_key)
    audit = AuditLog(settings.audit.audit_key.encode(), clock)
    assert seed_demo_leave(db, settings=settings, clock=clock, audit=audit) > 0
    rows = db.scalars(select(LeaveRequest)).all()
    assert {r.status for r in rows} == {s.value for s in LeaveStatus}
    assert any(r.status == "pending" and r.required_level == "bureau" for r in rows)  # for the manager's queue
    assert seed_demo_leave(db, settings=settings, clock=clock, audit=audit) == 0  # seeded once
