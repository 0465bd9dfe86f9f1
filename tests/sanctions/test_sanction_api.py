"""Sanctions through the API: a second person decides, at the level the jurisdiction's policy names;
a month's hours close with its confirmed assessment; the risk answer shows every factor; every
decision is audited; the retention of these tables is declared (legal file)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from core.audit import AuditEntry
from core.localtime import LOCAL_TZ
from risk.compute import run_risk
from sanctions.monthly import run_month_end
from tests.sanctions.helpers import lose_contact


def test_an_officer_proposes_someone_else_decides_at_the_policy_level(client, world, db, settings):
    sid = world.supervisees["a"].id
    start = datetime(2026, 3, 1, tzinfo=LOCAL_TZ)
    mine = lose_contact(db, settings, world.supervisees["a"], since=start, until=start + timedelta(days=2))
    theirs = lose_contact(db, settings, world.supervisees["b"], since=start, until=start + timedelta(days=2))
    db.commit()
    r = client.post(f"/supervisees/{sid}/sanctions", headers=world.auth("officer_a"), json={
        "kind": "warning", "facts": "失联两日", "evidence": {"alerts": [mine, theirs]}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "evidence.alerts", r.text
    assert str(theirs) in r.json()["detail"]
    r = client.post(f"/supervisees/{sid}/sanctions", headers=world.auth("officer_a"), json={
        "kind": "warning", "facts": "失联两日", "evidence": {"alerts": [mine]}})
    assert r.status_code == 201, r.text
    assert r.json()["evidence"] == {"alerts": [mine], "ledger": [], "episodes": []}
    warning = r.json()
    assert (warning["status"], warning["required_level"], warning["proposed_by"]) == (
        "proposed", "bureau", world.users["officer_a"].id)
    # the proposer may not decide; an officer of another office cannot see it (404 as absent)
    r = client.post(f"/sanctions/{warning['id']}/decide", headers=world.auth("officer_a"),
                    json={"decision": "impose", "reason": "x"})
    assert r.status_code == 403 and "someone else" in r.json()["detail"]
    r = client.post(f"/sanctions/{warning['id']}/decide", headers=world.auth("officer_b"),
                    json={"decision": "impose", "reason": "x"})
    assert r.status_code == 404
    queue = client.get("/sanctions", headers=world.auth("manager"), params={"pending": "true"}).json()["items"]
    assert [s["id"] for s in queue] == [warning["id"]]
    assert client.get("/sanctions", headers=world.auth("officer_b"), params={"pending": "true"}).json()["items"] == []
    r = client.post(f"/sanctions/{warning['id']}/decide", headers=world.auth("manager"),
                    json={"decision": "reject", "reason": "证据不足 not enough evidence"})
    assert r.status_code == 200 and r.json()["status"] == "rejected" and r.json()["decided_level"] == "bureau"
    r = client.post(f"/sanctions/{warning['id']}/decide", headers=world.auth("manager"),
                    json={"decision": "impose", "reason": "again"})
    assert r.status_code == 409
    # the bureau lets its offices decide 表扬 only at bureau level: an office officer is refused
    r = client.put(f"/sanction-policies/{world.bureau.id}", headers=world.auth("manager"),
                   json={"praise_level": "bureau"})
    assert r.status_code == 200 and r.json()["effective"]["praise_level"] == "bureau"
    r = client.post(f"/supervisees/{sid}/sanctions", headers=world.auth("manager"),
                    json={"kind": "praise", "facts": "见义勇为"})
    praise = r.json()
    r = client.post(f"/sanctions/{praise['id']}/decide", headers=world.auth("officer_a"),
                    json={"decision": "impose", "reason": "表扬"})
    assert r.status_code == 403 and "bureau level" in r.json()["detail"]
    actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "sanction")))
    assert {"sanction.propose", "sanction.reject"} <= actions
    r = client.get(f"/supervisees/{sid}/sanctions", headers=world.auth("auditor"))
    assert r.status_code == 200 and [s["kind"] for s in r.json()["items"]] == ["praise", "warning"]
    # the supervisee sees decisions served on them, not proposals nobody decided (none decided here)
    r = client.get(f"/supervisees/{sid}/sanctions", headers=world.auth("supervisee_a"))
    assert r.status_code == 200 and r.json()["items"] == []


def test_hours_close_with_the_confirmed_month_and_risk_shows_its_factors(client, world, db, job, clock):
    sid = world.supervisees["a"].id
    month = (clock.now().astimezone(LOCAL_TZ).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    r = client.post(f"/supervisees/{sid}/obligations", headers=world.auth("officer_a"),
                    json={"month": month, "kind": "study", "hours": 12.5, "note": "法治教育"})
    assert r.status_code == 201, r.text
    r = client.post(f"/supervisees/{sid}/obligations", headers=world.auth("officer_a"),
                    json={"month": "2999-01", "kind": "study", "hours": 1})
    assert r.status_code == 422
    run_month_end(job())
    db.commit()
    [assessment] = client.get(f"/supervisees/{sid}/assessments", headers=world.auth("officer_a")).json()["items"]
    short = next(i for i in assessment["breakdown"]["items"] if i["name"] == "obligations")
    assert (assessment["month"], list(short["evidence"]["short"])) == (month, ["service"])  # 0 of 8 h service
    r = client.post(f"/assessments/{assessment['id']}/confirm", headers=world.auth("officer_a"),
                    json={"reason": "本月考核合格"})
    assert r.status_code == 200 and r.json()["confirmed"] is True
    mine = client.get(f"/supervisees/{sid}/assessments", headers=world.auth("supervisee_a")).json()["items"]
    assert [m["id"] for m in mine] == [assessment["id"]]
    r = client.post(f"/supervisees/{sid}/obligations", headers=world.auth("officer_a"),
                    json={"month": month, "kind": "service", "hours": 8})
    assert r.status_code == 409 and "closed" in r.json()["detail"]
    r = client.get(f"/supervisees/{sid}/obligations", headers=world.auth("officer_a"), params={"month": month})
    assert r.json()["totals"] == {"study": 12.5, "service": 0} and r.json()["required"]["service"] == 8.0

    assert client.get(f"/supervisees/{sid}/risk", headers=world.auth("officer_a")).json()["assessment"] is None
    run_risk(job())
    db.commit()
    risk = client.get(f"/supervisees/{sid}/risk", headers=world.auth("manager")).json()["assessment"]
    assert risk["score"] == sum(f["points"] for f in risk["factors"]) and len(risk["factors"]) == 10


def test_the_new_tables_are_declared_legal_file():
    from api.app import RETENTIONS
    from core.retention import declared_tables

    owner = declared_tables(RETENTIONS)
    for table in ("sanctions", "monthly_assessments", "obligation_entries", "risk_assessments", "risk_factors",
                  "tier_proposals"):
        assert owner[table] in ("sanctions", "risk")
    assert all(r.purge is None and not r.operational for r in RETENTIONS if r.package in ("sanctions", "risk"))


def test_refusals_name_what_is_wrong(client, world):
    sid = world.supervisees["a"].id
    for body, field in (({"kind": "praise", "facts": "x", "evidence": {"alerts": [2**70]}}, "evidence"),
                        ({"kind": "flogging", "facts": "x"}, "kind"), ({"kind": "praise", "facts": ""}, "facts")):
        r = client.post(f"/supervisees/{sid}/sanctions", headers=world.auth("officer_a"), json=body)
        assert r.status_code == 422 and field in r.json()["errors"][0]["field"], r.text
    r = client.get(f"/supervisees/{sid}/obligations", headers=world.auth("officer_a"), params={"month": "0000-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "month"
