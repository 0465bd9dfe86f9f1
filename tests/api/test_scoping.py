"""Jurisdiction scoping on every list and get route.

An officer of office A never sees office B's objects: absent from lists and
a 404 on get with exactly the body of a nonexistent id. A manager sees both;
a supervisee sees only themself.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.audit import AuditEntry

NOT_FOUND = {"detail": "not found"}


def ids(client, path, headers):
    r = client.get(path, headers=headers, params={"limit": 200})
    assert r.status_code == 200, r.text
    return {item["id"] for item in r.json()["items"]}


@pytest.fixture
def devices(client, world):
    made = {}
    for who, sup in (("officer_a", "a"), ("officer_b", "b")):
        r = client.post("/devices", headers=world.auth(who), json={
            "supervisee_id": world.supervisees[sup].id, "name": "phone", "kind": "phone", "protocol": "native"})
        assert r.status_code == 201, r.text
        made[sup] = r.json()["id"]
    return made


def test_supervisees_scoping(client, world):
    a, a2, b = (world.supervisees[k].id for k in ("a", "a2", "b"))
    assert ids(client, "/supervisees", world.auth("officer_a")) == {a, a2}
    assert ids(client, "/supervisees", world.auth("officer_b")) == {b}
    assert {a, a2, b} <= ids(client, "/supervisees", world.auth("manager"))
    assert ids(client, "/supervisees", world.auth("supervisee_a")) == {a}
    assert client.get(f"/supervisees/{a}", headers=world.auth("officer_a")).status_code == 200
    assert client.get(f"/supervisees/{a}", headers=world.auth("manager")).status_code == 200
    assert client.get(f"/supervisees/{a}", headers=world.auth("supervisee_a")).status_code == 200
    for who, target in (("officer_a", b), ("officer_b", a), ("supervisee_a", a2), ("supervisee_a", b)):
        r = client.get(f"/supervisees/{target}", headers=world.auth(who))
        assert (r.status_code, r.json()) == (404, NOT_FOUND), who
    missing = client.get("/supervisees/999999999", headers=world.auth("officer_a"))
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)


def test_admin_reads_no_supervisee_records(client, world):
    r = client.get(f"/supervisees/{world.supervisees['a'].id}", headers=world.auth("admin"))
    assert r.status_code == 403


def test_jurisdictions_scoping(client, world):
    a, b, bureau = world.office_a.id, world.office_b.id, world.bureau.id
    assert ids(client, "/jurisdictions", world.auth("officer_a")) == {a}
    assert ids(client, "/jurisdictions", world.auth("manager")) >= {a, b, bureau}
    r = client.get(f"/jurisdictions/{b}", headers=world.auth("officer_a"))
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    assert client.get(f"/jurisdictions/{b}", headers=world.auth("manager")).status_code == 200
    assert ids(client, "/jurisdictions", world.auth("supervisee_a")) == set()


def test_users_scoping(client, world):
    oa, ob = world.users["officer_a"].id, world.users["officer_b"].id
    seen_a = ids(client, "/users", world.auth("officer_a"))
    assert oa in seen_a and ob not in seen_a
    assert {oa, ob} <= ids(client, "/users", world.auth("manager"))
    assert ids(client, "/users", world.auth("supervisee_a")) == {world.users["supervisee_a"].id}
    r = client.get(f"/users/{ob}", headers=world.auth("officer_a"))
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    assert client.get(f"/users/{ob}", headers=world.auth("manager")).status_code == 200


def test_devices_scoping(client, world, devices):
    da, db_ = devices["a"], devices["b"]
    assert ids(client, "/devices", world.auth("officer_a")) == {da}
    assert ids(client, "/devices", world.auth("officer_b")) == {db_}
    assert {da, db_} <= ids(client, "/devices", world.auth("manager"))
    r = client.get(f"/devices/{db_}", headers=world.auth("officer_a"))
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    assert client.get(f"/devices/{db_}", headers=world.auth("manager")).status_code == 200
    # Writing to an out-of-scope object looks the same as writing to nothing.
    r = client.patch(f"/devices/{db_}", headers=world.auth("officer_a"), json={"name": "x"})
    assert (r.status_code, r.json()) == (404, NOT_FOUND)


def test_out_of_scope_writes_are_404(client, world):
    b = world.supervisees["b"].id
    r = client.patch(f"/supervisees/{b}", headers=world.auth("officer_a"), json={"tier": "strict"})
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    r = client.patch(f"/users/{world.users['officer_b'].id}", headers=world.auth("officer_a"), json={"full_name": "x"})
    assert (r.status_code, r.json()) == (404, NOT_FOUND)


def test_reads_and_writes_are_audited(client, world, db):
    a = world.supervisees["a"].id
    b = world.supervisees["b"].id
    client.get(f"/supervisees/{a}", headers=world.auth("officer_a"))
    client.get(f"/supervisees/{b}", headers=world.auth("officer_a"))
    client.patch(f"/supervisees/{a}", headers=world.auth("officer_a"), json={"tier": "strict"})
    rows = db.scalars(select(AuditEntry).where(AuditEntry.object_type == "supervisee",
                                               AuditEntry.actor_id == world.users["officer_a"].id)
                      .order_by(AuditEntry.seq)).all()
    got = [(r.action, r.object_id, r.outcome) for r in rows]
    assert ("supervisee.read", str(a), "ok") in got
    assert ("supervisee.read", str(b), "not_found") in got
    assert ("supervisee.update", str(a), "ok") in got
    assert all(r.request_id and r.source_addr for r in rows)
