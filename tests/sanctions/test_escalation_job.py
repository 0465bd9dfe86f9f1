"""The escalation job follows the configured rule, proposes each step once however often it runs,
leaves out alerts an officer found to be false alarms, and imposes nothing."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from alerts.models import Alert
from core.localtime import LOCAL_TZ
from sanctions.escalation import run_escalation
from sanctions.models import Sanction
from tests.sanctions.helpers import lose_contact

T = datetime(2026, 5, 4, 0, tzinfo=LOCAL_TZ)


def test_configured_rule_once_each_and_false_alarms_left_out(db, world, settings, job):
    a, b = world.supervisees["a"], world.supervisees["b"]
    lose_contact(db, settings, a, since=T, until=T + timedelta(days=5))
    false_alarm = lose_contact(db, settings, b, since=T, until=T + timedelta(days=5))
    db.get(Alert, false_alarm).state, db.get(Alert, false_alarm).resolution = "resolved", "false_alarm"
    db.flush()
    settings.sanctions.sanction_contact_admonish_max_days = 3  # this office's rule: more than 3 days is a 警告
    for hours in (0, 1, 30):
        run_escalation(job(T + timedelta(days=6, hours=hours)))
    db.flush()
    rows = list(db.scalars(select(Sanction).where(Sanction.supervisee_id.in_([a.id, b.id]))))
    assert [(s.supervisee_id, s.kind, s.status, s.decided_by) for s in rows] == [(a.id, "warning", "proposed", None)]
    assert rows[0].required_level == "bureau" and "5.0 days" in rows[0].facts
