"""The alert lifecycle: open -> acknowledged -> resolved with who/when, notes,
assignment, refusals (409/422), and suppression/flapping in raise_alert."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from alerts.facts import Evidence
from alerts.models import Alert, AlertEvent, AlertEvidence, AlertKind, AlertNote
from alerts.raising import clear_alert, raise_alert
from core.audit import AuditEntry
from tests.alerts.alert_helpers import event_types, events, make_alert


def post(client, world, who, path, json=None):
    return client.post(path, headers=world.auth(who), json=json)


def audit_actions(db, alert_id):
    return [r.action for r in db.scalars(select(AuditEntry).where(AuditEntry.object_type == "alert",
                                                                  AuditEntry.object_id == str(alert_id))
                                         .order_by(AuditEntry.seq))]


def test_acknowledge_then_resolve_records_who_and_when(client, world, db, clock):
    alert = make_alert(db, world, clock)
    opened = clock.now()
    clock.advance(minutes=3)
    r = post(client, world, "officer_a", f"/alerts/{alert.id}/acknowledge")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "acknowledged"
    assert body["acknowledged_by"] == world.users["officer_a"].id
    assert datetime.fromisoformat(body["acknowledged_at"]) == opened + timedelta(minutes=3)
    clock.advance(minutes=4)
    r = post(client, world, "manager", f"/alerts/{alert.id}/resolve",
             {"reason": "police_notified", "note": "could not stop him; 110 called"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["state"], body["resolution"], body["resolved_by"]) == ("resolved", "police_notified",
                                                                         world.users["manager"].id)
    assert body["acknowledged_by"] == world.users["officer_a"].id  # unchanged by the resolver
    assert body["resolution_note"] == "could not stop him; 110 called"
    assert event_types(db, alert.id) == ["created", "acknowledged", "resolved"]
    assert events(db, alert.id)[-1].payload["reason"] == "police_notified"
    assert audit_actions(db, alert.id) == ["alert.acknowledge", "alert.resolve"]


def test_resolving_an_open_alert_records_the_acknowledgement_too(client, world, db, clock):
    alert = make_alert(db, world, clock)
    r = post(client, world, "officer_a", f"/alerts/{alert.id}/resolve", {"reason": "false_alarm", "note": "at home"})
    assert r.status_code == 200, r.text
    assert r.json()["acknowledged_by"] == r.json()["resolved_by"] == world.users["officer_a"].id


def test_invalid_transitions_are_409_with_a_clear_message(client, world, db, clock):
    alert = make_alert(db, world, clock)
    assert post(client, world, "officer_a", f"/alerts/{alert.id}/acknowledge").status_code == 200
    r = post(client, world, "officer_a", f"/alerts/{alert.id}/acknowledge")
    assert r.status_code == 409 and "already acknowledged" in r.json()["detail"]
    ok = post(client, world, "officer_a", f"/alerts/{alert.id}/resolve", {"reason": "excused", "note": "hospital"})
    assert ok.status_code == 200
    for path, body, words in (
        ("resolve", {"reason": "false_alarm", "note": "again"}, "already resolved"),
        ("acknowledge", None, "cannot be acknowledged"),
        ("assign", {"officer_id": world.users["officer_a"].id}, "cannot be assigned"),
    ):
        r = post(client, world, "officer_a", f"/alerts/{alert.id}/{path}", body)
        assert r.status_code == 409, (path, r.text)
        assert words in r.json()["detail"], r.json()
    assert event_types(db, alert.id) == ["created", "acknowledged", "resolved"]
    refusals = db.scalars(select(AuditEntry.outcome).where(AuditEntry.object_id == str(alert.id),
                                                           AuditEntry.outcome == "conflict")).all()
    assert len(refusals) == 4


@pytest.mark.parametrize("body, field", [
    ({"note": "x"}, "body.reason"),
    ({"reason": "false_alarm"}, "body.note"),
    ({"reason": "false_alarm", "note": ""}, "body.note"),
    ({"reason": "false_alarm", "note": "   "}, "body.note"),
    ({"reason": "withdrawn", "note": "system only"}, "body.reason"),
    ({"reason": "false_alarm", "note": "x", "by": 1}, "body.by"),
])
def test_resolve_needs_a_reason_and_a_note(client, world, db, clock, body, field):
    alert = make_alert(db, world, clock)
    r = post(client, world, "officer_a", f"/alerts/{alert.id}/resolve", body)
    assert r.status_code == 422, r.text
    assert field in {e["field"] for e in r.json()["errors"]}
    assert db.get(Alert, alert.id).state == "open"


def test_notes_at_any_time_without_the_body_in_events(client, world, db, clock):
    alert = make_alert(db, world, clock)
    r = post(client, world, "officer_a", f"/alerts/{alert.id}/notes", {"body": "phoned him, no answer"})
    assert r.status_code == 201, r.text
    assert r.json()["author_id"] == world.users["officer_a"].id
    post(client, world, "officer_a", f"/alerts/{alert.id}/resolve", {"reason": "excused", "note": "at work"})
    r = post(client, world, "manager", f"/alerts/{alert.id}/notes", {"body": "reviewed"})
    assert r.status_code == 201
    assert post(client, world, "officer_a", f"/alerts/{alert.id}/notes", {"body": ""}).status_code == 422
    detail = client.get(f"/alerts/{alert.id}", headers=world.auth("officer_a")).json()
    assert [n["body"] for n in detail["notes"]] == ["phoned him, no answer", "reviewed"]
    notes = [e for e in events(db, alert.id) if e.type == "note"]
    assert len(notes) == 2 and all("body" not in e.payload for e in notes)


def test_assign_to_an_officer_whose_jurisdiction_covers_the_office(client, world, db, clock):
    alert = make_alert(db, world, clock)
    for who in ("officer_a", "manager"):
        r = post(client, world, "officer_a", f"/alerts/{alert.id}/assign", {"officer_id": world.users[who].id})
        assert r.status_code == 200, r.text
        assert r.json()["assigned_to"] == world.users[who].id
    for bad in (world.users["officer_b"].id, world.users["auditor"].id, world.users["supervisee_a"].id, 999_999_999):
        r = post(client, world, "manager", f"/alerts/{alert.id}/assign", {"officer_id": bad})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "officer_id"
    assigned = [e for e in events(db, alert.id) if e.type == "assigned"]
    assert [e.payload["assigned_to"] for e in assigned] == [world.users["officer_a"].id, world.users["manager"].id]


# --- suppression and flapping ----------------------------------------------------

def _resolve(db, alert, now):
    alert.state, alert.resolution, alert.resolved_at, alert.resolved_by = "resolved", "false_alarm", now, 1
    alert.resolution_note = "jumpy fix"
    db.flush()


def test_repeats_add_evidence_to_the_one_unresolved_alert(db, world, clock):
    first = make_alert(db, world, clock, evidence=2)
    again = make_alert(db, world, clock, evidence=3)
    assert again.id == first.id and again.evidence_count == 5
    assert event_types(db, first.id) == ["created", "evidence"]
    other = make_alert(db, world, clock, "a2")
    assert other.id != first.id


def test_a_cause_reopening_past_the_limit_is_grouped_not_resent(db, world, clock):
    ids = []
    for _ in range(4):  # the first opening + 3 re-openings (limit 3) are sent as alerts
        alert = make_alert(db, world, clock, flap_limit=3)
        ids.append(alert.id)
        clock.advance(minutes=2)
        _resolve(db, alert, clock.now())
    assert len(set(ids)) == 4
    assert all(event_types(db, i)[0] == "created" for i in ids)

    grouped = make_alert(db, world, clock, flap_limit=3)
    assert grouped.id == ids[-1]  # attached to the most recent alert of the cause
    assert (grouped.state, grouped.reopen_count, grouped.reopened_at) == ("open", 1, clock.now())
    assert grouped.resolved_at is None and grouped.resolution is None
    reopened = events(db, grouped.id)[-1]
    assert reopened.type == "reopened" and reopened.payload["flapping"] is True
    note = db.scalar(select(AlertNote).where(AlertNote.alert_id == grouped.id))
    assert note.author_id is None and "false_alarm" in note.body
    assert db.scalar(select(AlertEvidence.id).where(AlertEvidence.alert_id == grouped.id).limit(1)) is not None

    # Further openings in the same hour change the row but send nothing.
    clock.advance(minutes=2)
    _resolve(db, grouped, clock.now())
    before = db.query(AlertEvent).count()
    again = make_alert(db, world, clock, flap_limit=3)
    assert again.id == grouped.id and again.reopen_count == 2 and again.state == "open"
    assert db.query(AlertEvent).count() == before

    # A new hour: a new alert, announced as usual.
    clock.advance(hours=1)
    _resolve(db, again, clock.now())
    fresh = make_alert(db, world, clock, flap_limit=3)
    assert fresh.id not in ids and event_types(db, fresh.id) == ["created"]


def test_a_cleared_alert_flapping_active_stops_sending_events(db, world, clock):
    sup = world.supervisees["a"]
    kw = dict(supervisee_id=sup.id, office_id=sup.office_id, tier=sup.tier, kind=AlertKind.entered_exclusion_zone,
              cause="fence:1:entered_exclusion_zone", title="zone", flap_limit=1)
    for _ in range(6):
        now = clock.now()
        alert, _ = raise_alert(db, now=now, occurred_at=now, evidence=[Evidence(t=now, lon=1.0, lat=2.0)], **kw)
        clock.advance(minutes=1)
        clear_alert(db, alert, now=clock.now(), cleared_at=clock.now(), reason="back out")
        clock.advance(minutes=1)
    db.flush()
    types = event_types(db, alert.id)
    # Openings 1-2 are normal; the 3rd sends one flapping evidence event; the rest are silent.
    assert types == ["created", "cleared", "evidence", "cleared", "evidence"]
    assert events(db, alert.id)[-1].payload["flapping"] is True
    assert alert.evidence_count == 6 and alert.reopen_count == 4
    assert db.scalar(select(Alert.id).where(Alert.cause == kw["cause"], Alert.id != alert.id)) is None
