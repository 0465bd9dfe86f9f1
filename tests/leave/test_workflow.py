"""The whole leave workflow on a ManualClock, with fixes through the real ingest route."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.audit import AuditEntry
from geo.models import Fence, FenceVersion
from leave.scheduled import check_overdue_returns
from tests.leave.conftest import HANGZHOU, HOME, OUTSIDE, alerts_of, fixes, leave_body


def _ask_and_approve(client, auth, clock, *, days=3, approver="officer_a"):
    start = clock.now() + timedelta(days=1)
    r = client.post("/leave", headers=auth("leaver"), json=leave_body(start, days=days))
    assert r.status_code == 201, r.text
    leave = r.json()
    r = client.post(f"/leave/{leave['id']}/approve", headers=auth(approver), json={"reason": "理由充分，同意"})
    assert r.status_code == 200, r.text
    return r.json()


def test_request_approve_depart_violate_return_on_time(client, db, auth, clock, leaver, settings, job):
    start = clock.now() + timedelta(days=1)
    r = client.post("/leave", headers=auth("leaver"), json=leave_body(start, days=3))
    assert r.status_code == 201, r.text
    leave = r.json()
    assert leave["required_level"] == "office" and leave["status"] == "pending" and leave["days"] == 3
    # Another office cannot even see it; the right office approves.
    assert client.post(f"/leave/{leave['id']}/approve", headers=auth("officer_b"),
                       json={"reason": "同意"}).status_code == 404
    r = client.post(f"/leave/{leave['id']}/approve", headers=auth("officer_a"), json={"reason": "同意"})
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["status"] == "approved" and approved["decided_level"] == "office"
    version = db.scalar(select(FenceVersion).where(FenceVersion.fence_id == approved["fence_id"]))
    allowance = timedelta(hours=6)
    assert db.get(Fence, approved["fence_id"]).kind == "leave_destination"
    assert version.valid_from == start - allowance and version.valid_to == start + timedelta(days=3) + allowance

    # Day 2 of the leave: at the destination is fine ...
    clock.set(start + timedelta(days=1))
    t0 = clock.now() - timedelta(hours=10)
    r = client.post("/ingest/native", headers=leaver.device(), json=fixes(t0, HANGZHOU, tag="dest"))
    assert r.status_code == 200, r.text
    assert alerts_of(db, leaver.supervisee.id) == []
    # ... outside both the destination and the permitted area is a violation
    # (five hours later: a plausible drive, not an impossible jump).
    r = client.post("/ingest/native", headers=leaver.device(), json=fixes(t0 + timedelta(hours=5), OUTSIDE))
    assert r.status_code == 200, r.text
    [alert] = alerts_of(db, leaver.supervisee.id)
    assert alert.kind == "outside_leave_destination"

    # Back home before the return time: a check-in outside is refused, inside accepted.
    clock.set(start + timedelta(days=3) - timedelta(hours=1))
    bad = client.post(f"/leave/{leave['id']}/return", headers=auth("leaver"),
                      json={"lon": OUTSIDE[0], "lat": OUTSIDE[1], "accuracy_m": 20})
    assert bad.status_code == 422 and "permitted area" in bad.json()["detail"]
    r = client.post(f"/leave/{leave['id']}/return", headers=auth("leaver"),
                    json={"lon": HOME[0], "lat": HOME[1], "accuracy_m": 20})
    assert r.status_code == 200, r.text
    assert r.json()["returned_at"] is not None
    # The destination stops being allowed at the return report.
    closed = db.scalar(select(FenceVersion).where(FenceVersion.fence_id == approved["fence_id"]))
    db.refresh(closed)
    assert closed.valid_to == clock.now()
    clock.advance(hours=10)
    assert check_overdue_returns(job(clock.now())) == []
    actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "leave",
                                                             AuditEntry.object_id == str(leave["id"]))))
    assert {"leave.request", "leave.approve", "leave.return"} <= actions


def test_no_return_raises_overdue_once_after_grace(client, db, auth, clock, leaver, settings, job):
    leave = _ask_and_approve(client, auth, clock, days=2)
    due = clock.now() + timedelta(days=3)
    clock.set(due + timedelta(hours=1, minutes=59))
    assert check_overdue_returns(job(clock.now())) == []
    clock.set(due + timedelta(hours=2))
    [alert_id] = check_overdue_returns(job(clock.now()))
    clock.advance(minutes=1)
    assert check_overdue_returns(job(clock.now())) == []  # raised once
    [alert] = alerts_of(db, leaver.supervisee.id, "overdue_return")
    assert alert.id == alert_id and alert.cause == f"leave:{leave['id']}:overdue"
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "leave.overdue",
                                              AuditEntry.object_id == str(leave["id"]))) is not None
    # Late return: accepted, the alert's condition cleared (officers still resolve it).
    clock.advance(hours=1)
    r = client.post(f"/leave/{leave['id']}/return", headers=auth("leaver"),
                    json={"lon": HOME[0], "lat": HOME[1], "accuracy_m": 15})
    assert r.status_code == 200, r.text
    db.refresh(alert)
    assert alert.cleared_at == clock.now()


def test_reads_are_audited_and_scoped(client, db, auth, clock, leaver):
    leave = _ask_and_approve(client, auth, clock)
    assert client.get(f"/leave/{leave['id']}", headers=auth("leaver")).status_code == 200
    assert client.get(f"/leave/{leave['id']}", headers=auth("supervisee_b")).status_code == 404
    assert client.get(f"/leave/{leave['id']}", headers=auth("officer_b")).status_code == 404
    listed = client.get("/leave", headers=auth("officer_a")).json()
    assert [x["id"] for x in listed["items"]] == [leave["id"]]
    assert client.get("/leave", headers=auth("officer_b")).json()["items"] == []
    reads = list(db.scalars(select(AuditEntry.outcome).where(AuditEntry.action == "leave.read",
                                                             AuditEntry.object_id == str(leave["id"]))))
    assert sorted(reads) == ["not_found", "not_found", "ok"]
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "leave.list")) is not None
