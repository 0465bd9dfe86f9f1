"""Every refusal: validation (422 naming the field), authority (403), scope (404), state (409)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from core.audit import AuditEntry
from geo.models import Fence
from tests.leave.conftest import leave_body


def _fields(r) -> set[str]:
    return {e["field"] for e in r.json().get("errors", [])}


def _ask(client, auth, clock, who="supervisee_a", days=3, start=None, **over):
    start = start or clock.now() + timedelta(days=1)
    return client.post("/leave", headers=auth(who), json=leave_body(start, days=days, **over))


@pytest.mark.parametrize("case, field, text", [
    ("return_before_departure", "return_at", "after depart_at"),
    ("departure_in_past", "depart_at", "in the past"),
    ("too_long", "return_at", "at most 30 days"),
    ("after_term", "return_at", "term ends"),
    ("two_shapes", "body.destination", "exactly one"),
    ("unknown_admin_code", "destination.admin_codes", "unknown administrative area"),
    ("bad_circle", "destination.circle", "radius"),
])
def test_validation_errors_name_the_field(client, auth, clock, world, db, case, field, text):
    now = clock.now()
    body = leave_body(now + timedelta(days=1))
    if case == "return_before_departure":
        body["return_at"] = (now + timedelta(hours=12)).isoformat()
    elif case == "departure_in_past":
        body = leave_body(now - timedelta(hours=1))
    elif case == "too_long":
        body = leave_body(now + timedelta(days=1), days=31)
    elif case == "after_term":
        world.supervisees["a"].term_end = (now + timedelta(days=2)).date()
        db.commit()
        body = leave_body(now + timedelta(days=1), days=5)
    elif case == "two_shapes":
        body["destination"]["admin_codes"] = ["330802"]
    elif case == "unknown_admin_code":
        body["destination"] = {"address": "某地", "admin_codes": ["999999"]}
    elif case == "bad_circle":
        body["destination"]["circle"]["radius_m"] = 500_000
    r = client.post("/leave", headers=auth("supervisee_a"), json=body)
    assert r.status_code == 422, r.text
    assert any(f.startswith(field) for f in _fields(r)), r.json()
    assert text in r.text


def test_overlap_with_pending_or_approved_leave(client, auth, clock):
    first = _ask(client, auth, clock, days=3)
    assert first.status_code == 201
    r = _ask(client, auth, clock, days=2, start=clock.now() + timedelta(days=2))
    assert r.status_code == 422 and _fields(r) == {"depart_at"} and f"#{first.json()['id']}" in r.text
    # Right after it is fine.
    assert _ask(client, auth, clock, days=1, start=clock.now() + timedelta(days=4)).status_code == 201


def test_yearly_cap_and_notice_from_local_policy(client, auth, clock, world):
    r = client.put(f"/leave-policies/{world.office_a.id}", headers=auth("manager"),
                   json={"yearly_cap_days": 5, "min_notice_hours": 12})
    assert r.status_code == 200, r.text
    assert r.json()["effective"]["yearly_cap_days"] == 5 and r.json()["effective"]["office_max_days"] == 7
    assert client.put(f"/leave-policies/{world.office_a.id}", headers=auth("officer_a"),
                      json={"max_days": 60}).status_code == 403
    assert _ask(client, auth, clock, days=3).status_code == 201
    r = _ask(client, auth, clock, days=3, start=clock.now() + timedelta(days=10))
    assert r.status_code == 422 and _fields(r) == {"return_at"} and "yearly cap" in r.text
    r = _ask(client, auth, clock, days=1, start=clock.now() + timedelta(hours=6))
    assert r.status_code == 422 and _fields(r) == {"depart_at"} and "12 h" in r.text


def test_staff_must_name_the_supervisee_and_only_in_scope(client, auth, clock, world):
    body = leave_body(clock.now() + timedelta(days=1))
    r = client.post("/leave", headers=auth("officer_a"), json=body)
    assert r.status_code == 422 and _fields(r) == {"supervisee_id"}
    r = client.post("/leave", headers=auth("officer_b"), json={**body, "supervisee_id": world.supervisees["a"].id})
    assert r.status_code == 404
    r = client.post("/leave", headers=auth("supervisee_a"), json={**body, "supervisee_id": world.supervisees["b"].id})
    assert r.status_code == 404
    assert client.post("/leave", headers=auth("auditor"), json=body).status_code == 403


def test_long_leave_needs_the_bureau(client, auth, clock, db):
    leave = _ask(client, auth, clock, days=10).json()
    assert leave["required_level"] == "bureau"
    r = client.post(f"/leave/{leave['id']}/approve", headers=auth("officer_a"), json={"reason": "同意"})
    assert r.status_code == 403 and "bureau" in r.json()["detail"]
    r = client.post(f"/leave/{leave['id']}/approve", headers=auth("manager"), json={"reason": "同意"})
    assert r.status_code == 200 and r.json()["decided_level"] == "bureau"
    refused = db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "leave.approve", AuditEntry.outcome == "refused",
        AuditEntry.object_id == str(leave["id"])))
    assert refused == 1


def test_out_of_scope_is_404_like_nonexistent(client, auth, clock):
    leave = _ask(client, auth, clock).json()
    other = client.post(f"/leave/{leave['id']}/approve", headers=auth("officer_b"), json={"reason": "同意"})
    absent = client.post("/leave/987654321/approve", headers=auth("officer_b"), json={"reason": "同意"})
    assert other.status_code == absent.status_code == 404 and other.json() == absent.json()


def test_nobody_approves_their_own_entry(client, auth, clock, world):
    body = leave_body(clock.now() + timedelta(days=1))
    leave = client.post("/leave", headers=auth("officer_a"),
                        json={**body, "supervisee_id": world.supervisees["a"].id}).json()
    r = client.post(f"/leave/{leave['id']}/approve", headers=auth("officer_a"), json={"reason": "同意"})
    assert r.status_code == 403 and "yourself" in r.json()["detail"]
    r = client.post(f"/leave/{leave['id']}/reject", headers=auth("officer_a"), json={"reason": "不同意"})
    assert r.status_code == 403
    # The manager above the office may decide an office-level leave.
    assert client.post(f"/leave/{leave['id']}/approve", headers=auth("manager"),
                       json={"reason": "同意"}).status_code == 200


def test_decisions_need_a_reason_and_a_decider_role(client, auth, clock):
    leave = _ask(client, auth, clock).json()
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        r = client.post(f"/leave/{leave['id']}/reject", headers=auth("officer_a"), json=body)
        assert r.status_code == 422 and "body.reason" in _fields(r), r.text
    for who in ("supervisee_a", "auditor", "admin"):
        assert client.post(f"/leave/{leave['id']}/approve", headers=auth(who),
                           json={"reason": "同意"}).status_code == 403
    r = client.post(f"/leave/{leave['id']}/reject", headers=auth("officer_a"), json={"reason": "目的地不明"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    again = client.post(f"/leave/{leave['id']}/approve", headers=auth("officer_a"), json={"reason": "同意"})
    assert again.status_code == 409


def test_approval_after_departure_is_refused(client, auth, clock):
    leave = _ask(client, auth, clock).json()
    clock.advance(days=1, minutes=1)
    r = client.post(f"/leave/{leave['id']}/approve", headers=auth("officer_a"), json={"reason": "同意"})
    assert r.status_code == 409 and "departure" in r.json()["detail"]


def test_withdraw_rules(client, auth, clock, world, db):
    leave = _ask(client, auth, clock).json()
    approved = client.post(f"/leave/{leave['id']}/approve", headers=auth("officer_a"), json={"reason": "同意"}).json()
    # Only the supervisee or whoever entered it (not another officer, not the approver).
    assert client.post(f"/leave/{leave['id']}/withdraw", headers=auth("officer_a"), json={}).status_code == 403
    r = client.post(f"/leave/{leave['id']}/withdraw", headers=auth("supervisee_a"), json={"reason": "不去了"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    fence = db.get(Fence, approved["fence_id"])
    db.refresh(fence)
    assert fence.retired_at == clock.now()  # the destination never becomes allowed
    # After departure: refused.
    second = _ask(client, auth, clock, start=clock.now() + timedelta(days=5)).json()
    clock.advance(days=5, hours=1)
    r = client.post(f"/leave/{second['id']}/withdraw", headers=auth("supervisee_a"), json={})
    assert r.status_code == 409 and "started" in r.json()["detail"]


def test_permit_too_long_or_outside_term(client, auth, clock):
    today = clock.now().date()
    body = {"area": {"address": "龙游县某厂", "circle": {"lon": 119.17, "lat": 29.03, "radius_m": 2000}},
            "reason": "上班", "weekdays": [0, 1, 2, 3, 4], "start_time": "07:00", "end_time": "19:00",
            "valid_from": (today + timedelta(days=1)).isoformat(),
            "valid_until": (today + timedelta(days=220)).isoformat()}
    r = client.post("/leave-permits", headers=auth("supervisee_a"), json=body)
    assert r.status_code == 422 and _fields(r) == {"valid_until"} and "6 months" in r.text
    r = client.post("/leave-permits", headers=auth("supervisee_a"), json={**body, "valid_until": date(2029, 1, 1).isoformat()})
    assert r.status_code == 422
