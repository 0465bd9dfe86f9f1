"""The demo district gets last month's obligation hours, entered through the service: the month end
then gives shortfall alerts to the few who are short, not to everyone."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from alerts.models import Alert
from core.audit import AuditLog
from geo.demo import seed_demo
from sanctions.demo import seed_demo_obligations
from sanctions.models import MonthlyAssessment
from sanctions.monthly import run_month_end


def test_demo_hours_make_a_few_shortfalls_once(db, settings, clock, job) -> None:
    seed_demo(db, id_hash_key=settings.auth.id_hash_key, today=date.today(), device_key=settings.auth.device_key)
    audit = AuditLog(settings.audit.audit_key.encode(), clock)
    assert seed_demo_obligations(db, settings=settings, clock=clock, audit=audit) > 0
    assessed = run_month_end(job())
    db.flush()
    short = db.scalar(select(func.count(func.distinct(Alert.supervisee_id))).where(Alert.kind == "obligation_shortfall"))
    assert assessed > 100 and 0 < short < assessed / 4, (assessed, short)
    grades = set(db.scalars(select(MonthlyAssessment.grade)))
    assert len(grades) >= 2  # a spread, not one grade for everyone
    assert seed_demo_obligations(db, settings=settings, clock=clock, audit=audit) == 0  # seeded once
