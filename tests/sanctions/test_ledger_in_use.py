"""An office that has never entered obligation hours (a new install, an upgrade) is not short of them:
the month end gives nobody there a shortfall alert or points off; once the office keeps the ledger,
a month without hours is short as the tier says."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from alerts.models import Alert
from core.localtime import LOCAL_TZ
from sanctions.models import MonthlyAssessment
from sanctions.monthly import run_month_end
from sanctions.obligations import enter_hours
from tests.sanctions.helpers import as_user

JUNE_2 = datetime(2026, 6, 2, 6, tzinfo=LOCAL_TZ)
JULY_2 = datetime(2026, 7, 2, 6, tzinfo=LOCAL_TZ)


def _month(db, sid, month: str):
    row = db.scalar(select(MonthlyAssessment).where(MonthlyAssessment.supervisee_id == sid)
                    .order_by(MonthlyAssessment.month.desc()))
    assert row.month.isoformat()[:7] == month
    item = next(i for i in row.breakdown["items"] if i["name"] == "obligations")
    shorts = set(db.scalars(select(Alert.cause).where(Alert.supervisee_id == sid, Alert.kind == "obligation_shortfall",
                                                      Alert.cause.like(f"obligation:{month}:%"))))
    return item, shorts


def test_no_shortfalls_until_the_office_keeps_the_ledger(db, world, settings, clock, job):
    a, a2 = world.supervisees["a"], world.supervisees["a2"]
    run_month_end(job(JUNE_2))  # May: nobody in the office ever had hours entered
    db.flush()
    item, shorts = _month(db, a.id, "2026-05")
    assert (item["points"], item["evidence"]["ledger_in_use"], item["evidence"]["short"], shorts) == (0, False, {}, set())

    clock.set(JUNE_2)  # June: hours entered for a2 only; a's empty month is now short
    enter_hours(ctx=as_user(db, world.users["officer_a"], settings, clock), supervisee_id=a2.id, month="2026-06",
                kind="study", hours=4, note="集中教育")
    run_month_end(job(JULY_2))
    db.flush()
    item, shorts = _month(db, a.id, "2026-06")
    assert item["evidence"]["ledger_in_use"] is True and item["points"] < 0
    assert shorts == {"obligation:2026-06:study", "obligation:2026-06:service"}
