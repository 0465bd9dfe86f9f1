"""REST scoping of alerts: officers see their office, managers their bureau,
auditors read only, admins and supervisees nothing; reads are audited and
evidence never carries fence geometry."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerts.models import AlertKind
from core.audit import AuditEntry
from tests.alerts.alert_helpers import make_alert

NOT_FOUND = {"detail": "not found"}


def listed(client, world, who, **params):
    r = client.get("/alerts", headers=world.auth(who), params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


def test_officers_see_only_their_office_managers_see_both(client, world, db, clock):
    a = make_alert(db, world, clock, "a").id
    a2 = make_alert(db, world, clock, "a2").id
    b = make_alert(db, world, clock, "b").id
    assert set(listed(client, world, "officer_a")) == {a, a2}
    assert set(listed(client, world, "officer_b")) == {b}
    assert {a, a2, b} <= set(listed(client, world, "manager"))
    assert set(listed(client, world, "officer_a", office_id=world.office_b.id)) == set()
    missing = client.get("/alerts/999999999", headers=world.auth("officer_a"))
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)
    for path, body in (("", None), ("/acknowledge", None), ("/notes", {"body": "x"}),
                       ("/assign", {"officer_id": world.users["officer_a"].id}),
                       ("/resolve", {"reason": "false_alarm", "note": "x"})):
        call = client.get if not path else client.post
        r = call(f"/alerts/{b}{path}", headers=world.auth("officer_a"), **({"json": body} if body else {}))
        assert (r.status_code, r.json()) == (404, NOT_FOUND), path
    assert client.get(f"/alerts/{b}", headers=world.auth("manager")).status_code == 200
    assert client.post(f"/alerts/{b}/acknowledge", headers=world.auth("manager")).status_code == 200
    refused = db.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(b),
                                                         AuditEntry.outcome == "not_found")).all()
    assert len(refused) == 5  # out-of-scope attempts are recorded, answered like "absent"


def test_auditor_reads_but_may_not_act(client, world, db, clock):
    alert = make_alert(db, world, clock).id
    assert alert in listed(client, world, "auditor")
    assert client.get(f"/alerts/{alert}", headers=world.auth("auditor")).status_code == 200
    for path, body in (("acknowledge", None), ("notes", {"body": "x"}),
                       ("assign", {"officer_id": world.users["officer_a"].id}),
                       ("resolve", {"reason": "false_alarm", "note": "x"})):
        r = client.post(f"/alerts/{alert}/{path}", headers=world.auth("auditor"), json=body)
        assert r.status_code == 403, (path, r.text)


def test_admins_and_supervisees_read_no_alerts(client, world, db, clock):
    alert = make_alert(db, world, clock).id
    for who in ("admin", "supervisee_a"):
        assert client.get("/alerts", headers=world.auth(who)).status_code == 403
        assert client.get(f"/alerts/{alert}", headers=world.auth(who)).status_code == 403
    assert client.get("/alerts").status_code == 401


def test_filters_and_newest_first(client, world, db, clock):
    t0 = clock.now()
    old = make_alert(db, world, clock, "a", kind=AlertKind.curfew_breach).id
    clock.advance(minutes=10)
    new = make_alert(db, world, clock, "a2", kind=AlertKind.signal_lost).id
    other = make_alert(db, world, clock, "b").id
    client.post(f"/alerts/{old}/acknowledge", headers=world.auth("officer_a"))
    assert listed(client, world, "officer_a") == [new, old]
    assert listed(client, world, "officer_a", state="acknowledged") == [old]
    assert listed(client, world, "officer_a", kind="signal_lost") == [new]
    assert listed(client, world, "manager", office_id=world.office_b.id) == [other]
    assert listed(client, world, "manager", supervisee_id=world.supervisees["a"].id) == [old]
    since = (t0 + timedelta(minutes=5)).isoformat()
    assert listed(client, world, "officer_a", since=since) == [new]
    assert listed(client, world, "officer_a", until=since) == [old]
    page = client.get("/alerts", headers=world.auth("officer_a"), params={"limit": 1, "offset": 1}).json()
    assert (page["total"], [i["id"] for i in page["items"]]) == (2, [old])
    bad = client.get("/alerts", headers=world.auth("officer_a"), params={"since": since, "until": t0.isoformat()})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.until"
    assert client.get("/alerts", headers=world.auth("officer_a"), params={"state": "closed"}).status_code == 422


def test_detail_has_evidence_and_notes_never_geometry_and_the_read_is_audited(client, world, db, clock):
    alert = make_alert(db, world, clock, evidence=3, detail={"fence_kind": "exclusion",
                                                             "fence_geometry": {"coordinates": [[1, 2]]}})
    r = client.get(f"/alerts/{alert.id}", headers=world.auth("officer_a"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["evidence"]) == 3 and body["evidence_count"] == 3
    assert {"lon", "lat", "accuracy_m", "t"} <= set(body["evidence"][0])
    assert "raw" not in body["evidence"][0]
    assert body["detail"] == {"fence_kind": "exclusion"}
    assert all(ev["detail"] == {"role": "opening"} for ev in body["evidence"])
    assert "geometry" not in r.text and "coordinates" not in r.text
    reads = db.scalars(select(AuditEntry).where(AuditEntry.action == "alert.read",
                                                AuditEntry.object_id == str(alert.id))).all()
    assert len(reads) == 1 and reads[0].actor_id == world.users["officer_a"].id
    client.get("/alerts", headers=world.auth("officer_a"))
    listing = db.scalar(select(AuditEntry).where(AuditEntry.action == "alert.list").order_by(AuditEntry.seq.desc()))
    assert alert.id in listing.detail["ids"]
