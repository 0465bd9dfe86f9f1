"""An officer's early release: the same end as the term's, now; an open check-in window is
cancelled rather than judged missed; nobody else's supervision is touched."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from alerts.models import Alert
from api.app import TERM_END_STEPS
from checkins.models import CheckinOccurrence
from lifecycle.scheduled import end_terms
from lifecycle.term import term_end_instant
from supervision.models import Device, Supervisee
from tests.checkins.helpers import tick
from tests.factories import add_device


def test_early_release_cancels_open_windows_and_stops_only_that_supervision(client, db, world, settings, clock, job):
    sid, other = world.supervisees["a"].id, world.supervisees["a2"].id
    add_device(db, settings, world.supervisees["a"])
    add_device(db, settings, world.supervisees["a2"])
    r = client.post("/checkins/spot-checks", headers=world.auth("officer_a"),
                    json={"supervisee_id": sid, "requires_face": False})
    assert r.status_code == 201, r.text
    occ_id = r.json()["id"]
    r = client.post(f"/supervisees/{sid}/release", headers=world.auth("officer_a"), json={"reason": "  "})
    assert r.status_code == 422  # a reason is required
    r = client.post(f"/supervisees/{sid}/release", headers=world.auth("officer_a"), json={"reason": "收监执行"})
    assert r.status_code == 201, r.text
    rel = r.json()
    assert rel["kind"] == "early" and rel["released_by"] == world.users["officer_a"].id
    assert rel["summary"]["checkin_windows_cancelled"] == 1 and rel["summary"]["devices_disabled"] == 1
    due = datetime.fromisoformat(rel["purge_due_at"].replace("Z", "+00:00"))
    assert due == clock.now() + timedelta(days=365)  # the default retention period: one year
    # The window closes later: cancelled, never a missed check-in alert.
    tick(db, job, clock.now() + timedelta(days=2))
    assert db.get(CheckinOccurrence, occ_id).state == "cancelled"
    assert db.scalars(select(Alert).where(Alert.supervisee_id == sid, Alert.kind == "missed_checkin")).all() == []
    # The other person of the same office is untouched.
    assert db.get(Supervisee, other).status == "active"
    assert db.scalar(select(Device.active).where(Device.supervisee_id == other)) is True
    audit = client.get(f"/supervisees/{sid}/lifecycle", headers=world.auth("auditor")).json()
    assert audit["release"]["reason"] == "收监执行" and audit["status"] == "ended"


def test_a_suspended_supervision_ends_with_its_term(db, world, settings, job):
    """The term runs by the calendar: a suspension of monitoring does not outlive it."""
    sup = world.supervisees["a"]
    add_device(db, settings, sup)
    sup.status = "suspended"
    db.flush()
    ended = end_terms(job(term_end_instant(sup.term_end) + timedelta(minutes=5)), steps=TERM_END_STEPS)
    assert sup.id in ended and db.get(Supervisee, sup.id).status == "ended"
    assert db.scalar(select(Device.active).where(Device.supervisee_id == sup.id)) is False
