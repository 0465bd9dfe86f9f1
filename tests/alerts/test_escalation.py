"""Escalation with a ManualClock: no sleeping, minutes pass by assignment."""
from __future__ import annotations

from datetime import timedelta

from alerts.escalation import bureau_id_of, escalate_due
from alerts.models import AlertKind
from tests.alerts.alert_helpers import events, make_alert


def escalations(db, alert_id):
    return [e for e in events(db, alert_id) if e.type == "escalated"]


def test_high_severity_escalates_after_10_minutes_and_again(db, world, clock, settings):
    alert = make_alert(db, world, clock, kind=AlertKind.left_permitted_area)  # ordinary tier: high
    assert alert.severity == "high"
    clock.advance(minutes=9, seconds=59)
    assert alert.id not in escalate_due(db, now=clock.now(), settings=settings)
    clock.advance(seconds=1)
    assert alert.id in escalate_due(db, now=clock.now(), settings=settings)
    assert (alert.escalation_level, alert.escalated_at) == (1, clock.now())
    [event] = escalations(db, alert.id)
    assert event.payload["escalated_to"] == "managers"
    assert event.payload["bureau_id"] == world.bureau.id
    assert (event.payload["level"], event.payload["reason"]) == (1, "unacknowledged")
    assert event.payload["alert"]["escalation_level"] == 1
    # Runs in between do nothing; another period later it escalates again.
    clock.advance(minutes=5)
    assert alert.id not in escalate_due(db, now=clock.now(), settings=settings)
    clock.advance(minutes=5)
    assert alert.id in escalate_due(db, now=clock.now(), settings=settings)
    assert alert.escalation_level == 2 and len(escalations(db, alert.id)) == 2


def test_other_severities_wait_30_minutes(db, world, clock, settings):
    alert = make_alert(db, world, clock, kind=AlertKind.curfew_breach)
    assert alert.severity == "medium"
    clock.advance(minutes=29)
    assert alert.id not in escalate_due(db, now=clock.now(), settings=settings)
    clock.advance(minutes=1)
    assert alert.id in escalate_due(db, now=clock.now(), settings=settings)


def test_periods_and_ceiling_are_settings(db, world, clock, settings):
    settings.alerts.escalate_other_minutes = 2
    settings.alerts.escalate_max_level = 2
    alert = make_alert(db, world, clock, kind=AlertKind.device)
    for _ in range(5):
        clock.advance(minutes=2)
        escalate_due(db, now=clock.now(), settings=settings)
    assert alert.escalation_level == 2 and len(escalations(db, alert.id)) == 2


def test_acknowledged_or_resolved_alerts_do_not_escalate(client, db, world, clock, settings):
    acked = make_alert(db, world, clock, "a")
    resolved = make_alert(db, world, clock, "a2")
    client.post(f"/alerts/{acked.id}/acknowledge", headers=world.auth("officer_a"))
    client.post(f"/alerts/{resolved.id}/resolve", headers=world.auth("officer_a"),
                json={"reason": "false_alarm", "note": "ok"})
    clock.advance(hours=3)
    due = escalate_due(db, now=clock.now(), settings=settings)
    assert acked.id not in due and resolved.id not in due


def test_lost_contact_escalates_at_once(db, world, clock, settings):
    alert = make_alert(db, world, clock, kind=AlertKind.signal_lost, cause="signal_lost")
    assert alert.escalation_level == 1
    assert [e.type for e in events(db, alert.id)] == ["created", "escalated"]
    assert escalations(db, alert.id)[0].payload["reason"] == "lost_contact"
    assert alert.id not in escalate_due(db, now=clock.now(), settings=settings)
    # Still untouched: again after the high-severity period, whatever its severity.
    assert alert.severity == "medium"
    clock.advance(minutes=10)
    assert alert.id in escalate_due(db, now=clock.now(), settings=settings)
    assert alert.escalation_level == 2


def test_lost_contact_created_elsewhere_escalates_on_the_next_run(db, world, clock, settings):
    alert = make_alert(db, world, clock, kind=AlertKind.signal_lost, cause="signal_lost")
    alert.escalation_level, alert.escalated_at = 0, None  # as if written without raise_alert
    db.flush()
    assert alert.id in escalate_due(db, now=clock.now(), settings=settings)
    assert alert.escalation_level == 1


def test_a_reopened_alert_counts_from_its_reopening(db, world, clock, settings):
    alert = make_alert(db, world, clock)
    alert.state, alert.resolved_at = "resolved", clock.now()
    clock.advance(hours=2)
    alert.state, alert.reopened_at, alert.resolved_at = "open", clock.now(), None
    db.flush()
    assert alert.id not in escalate_due(db, now=clock.now() + timedelta(minutes=9), settings=settings)
    assert alert.id in escalate_due(db, now=clock.now() + timedelta(minutes=10), settings=settings)


def test_bureau_of_an_office(db, world):
    assert bureau_id_of(db, world.office_a.id) == world.bureau.id
    assert bureau_id_of(db, world.bureau.id) == world.bureau.id
    assert bureau_id_of(db, 999_999_999) is None


def test_the_job_unit_commits_its_own_run(db, world, clock, settings):
    from contextlib import nullcontext

    from api.app import JOBS
    from core.audit import AuditLog
    from core.jobs import run_job

    alert = make_alert(db, world, clock)
    clock.advance(minutes=10)
    job = next(j for j in JOBS if j.name == "escalation")
    assert alert.id in run_job(job, lambda: nullcontext(db), now=clock.now(), settings=settings,
                               audit=AuditLog(settings.audit.audit_key.encode(), clock))
    assert alert.escalation_level == 1
