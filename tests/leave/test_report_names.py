"""Item 12 of issue 12: the leave report shows the names as they were at the
time of each event (request, decision), not the current, editable ones."""
from __future__ import annotations

from datetime import timedelta

from tests.leave.conftest import leave_body


def test_report_keeps_the_names_of_the_time(client, db, auth, clock, world):
    t = clock.now() + timedelta(days=1)
    r = client.post("/leave", headers=auth("supervisee_a"), json=leave_body(t, days=2))
    assert r.status_code == 201, r.text
    leave_id = r.json()["id"]
    assert client.post(f"/leave/{leave_id}/approve", headers=auth("officer_a"), json={"reason": "同意"}).status_code == 200
    before = {"supervisee": world.supervisees["a"].name, "office": world.office_a.name,
              "requester": world.users["supervisee_a"].full_name, "approver": world.users["officer_a"].full_name}
    # Everything renamed afterwards, through the API where there is a route.
    assert client.patch(f"/supervisees/{world.supervisees['a'].id}", headers=auth("officer_a"),
                        json={"name": "改名后"}).status_code == 200
    assert client.patch(f"/users/{world.users['officer_a'].id}", headers=auth("officer_a"),
                        json={"full_name": "改名的干部"}).status_code == 200
    assert client.patch(f"/users/{world.users['supervisee_a'].id}", headers=auth("supervisee_a"),
                        json={"full_name": "改名的对象"}).status_code == 200
    assert client.patch(f"/jurisdictions/{world.office_a.id}", headers=auth("admin"),
                        json={"name": "改名的司法所"}).status_code == 200
    day = clock.now().date()
    rep = client.get("/reports/leave", headers=auth("manager"), params={
        "jurisdiction_id": world.bureau.id, "from": (day - timedelta(days=2)).isoformat(),
        "to": (day + timedelta(days=1)).isoformat()})
    assert rep.status_code == 200, rep.text
    row = next(x for x in rep.json()["rows"] if x["id"] == leave_id)
    assert {k: row[k] for k in before} == before
    assert {t["office"] for t in rep.json()["totals"]} >= {before["office"]}
