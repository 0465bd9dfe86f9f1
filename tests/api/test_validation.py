"""Bad input to every write route: a 4xx naming the field, never a 500."""
from __future__ import annotations

import pytest

from geo.admin_areas import import_boundary
from geo.boundaries import bundled
from tests.factories import national_id


@pytest.fixture(autouse=True)
def _qujiang(db):
    """The area _good_supervisee's permitted_area_codes name: an unknown code is now refused (422)."""
    import_boundary(db, bundled("330803"), datum="gcj02")


def _good_supervisee(world):
    return {"name": "丙", "national_id": national_id(), "sentence_type": "probation", "term_start": "2026-01-01",
            "term_end": "2027-01-01", "tier": "strict", "office_id": world.office_a.id,
            "officer_id": world.users["officer_a"].id, "residence": {"lon": 118.9, "lat": 28.9, "datum": "gcj02"},
            "permitted_area_codes": ["330803"]}


def _fields(r):
    return " ".join(e["field"] for e in r.json().get("errors", [])) + " " + r.json()["detail"]


def test_create_supervisee_ok_and_datum_converted(client, world):
    r = client.post("/supervisees", headers=world.auth("officer_a"), json=_good_supervisee(world))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id_last4"] == _good_supervisee(world)["national_id"][-4:] or len(body["id_last4"]) == 4
    assert "national_id" not in body
    # GCJ-02 input stored as WGS-84: a few hundred metres west/north of the input.
    assert body["residence"]["lon"] < 118.9 and body["residence"]["lat"] > 28.9


@pytest.mark.parametrize("field,value", [
    ("name", ""), ("national_id", "123"), ("national_id", "330803199001011230"), ("sentence_type", "exile"),
    ("term_end", "2020-01-01"), ("tier", "ultra"), ("office_id", 0), ("residence", {"lon": 200, "lat": 1}),
    ("residence", {"lon": 118.9, "lat": 28.9, "datum": "osgb36"}), ("unknown_field", 1),
])
def test_create_supervisee_bad_field(client, world, field, value):
    body = _good_supervisee(world)
    body[field] = value
    r = client.post("/supervisees", headers=world.auth("officer_a"), json=body)
    assert 400 <= r.status_code < 500, r.text
    assert field.split(".")[0] in _fields(r) or field == "term_end", r.text


def test_nan_and_infinity_rejected(client, world):
    raw = ('{"name":"x","national_id":"%s","sentence_type":"probation","term_start":"2026-01-01",'
           '"term_end":"2027-01-01","office_id":%d,"residence":{"lon":NaN,"lat":Infinity}}') % (national_id(), world.office_a.id)
    r = client.post("/supervisees", headers={**world.auth("officer_a"), "content-type": "application/json"}, content=raw)
    assert r.status_code == 422, r.text
    assert "residence.lon" in _fields(r)


def test_malformed_json(client, world):
    r = client.post("/supervisees", headers={**world.auth("officer_a"), "content-type": "application/json"}, content="{")
    assert r.status_code == 422


def test_office_of_another_jurisdiction_refused(client, world):
    body = _good_supervisee(world)
    body["office_id"] = world.office_b.id
    body["officer_id"] = None
    r = client.post("/supervisees", headers=world.auth("officer_a"), json=body)
    assert r.status_code == 422 and "office_id" in _fields(r)


def test_duplicate_national_id_is_held_for_the_bureau(client, world):
    # Not a 409 naming national_id any more: that told an office the person is on file
    # (tests/supervision/test_registration_review.py has the whole queue).
    body = _good_supervisee(world)
    assert client.post("/supervisees", headers=world.auth("officer_a"), json=body).status_code == 201
    r = client.post("/supervisees", headers=world.auth("officer_a"), json=body)
    assert r.status_code == 202 and r.json()["status"] == "pending_bureau_review" and "national" not in r.text


@pytest.mark.parametrize("body,field", [
    ({"tier": "nope"}, "tier"), ({"status": "gone"}, "status"), ({"term_end": "1999-01-01"}, "term_end"),
    ({"officer_id": -1}, "officer_id"), ({"bogus": True}, "bogus"), ({"residence": {"lon": 1}}, "residence.lat"),
    ({"term_end": None}, "term_end"), ({"name": None}, "name"), ({"tier": None}, "tier"),
])
def test_update_supervisee_bad_field(client, world, body, field):
    r = client.patch(f"/supervisees/{world.supervisees['a'].id}", headers=world.auth("officer_a"), json=body)
    assert 400 <= r.status_code < 500, r.text
    assert field in _fields(r), r.text


@pytest.mark.parametrize("body,field", [
    ({"username": "x", "full_name": "X", "role": "officer"}, "username"),
    # The admin never sets a password (activation codes): the field does not exist.
    ({"username": "newuser", "password": "long-enough-password", "full_name": "X", "role": "officer"}, "password"),
    ({"username": "newuser", "full_name": "X", "role": "king"}, "role"),
    ({"username": "newuser", "full_name": "X", "role": "supervisee"}, "supervisee_id"),
    ({"username": "newuser", "full_name": "X", "role": "officer", "x": 1}, "x"),
])
def test_create_user_bad_field(client, world, body, field):
    body = {"jurisdiction_id": world.office_a.id, **body}
    r = client.post("/users", headers=world.auth("admin"), json=body)
    assert r.status_code == 422, r.text
    assert field in _fields(r), r.text


def test_create_user_ok_and_only_admin(client, world):
    body = {"username": "new-officer", "full_name": "新", "role": "officer", "jurisdiction_id": world.office_a.id}
    assert client.post("/users", headers=world.auth("manager"), json=body).status_code == 403
    assert client.post("/users", headers=world.auth("admin"), json=body).status_code == 201
    assert client.post("/users", headers=world.auth("admin"), json=body).status_code == 409


@pytest.mark.parametrize("body,field", [({"active": "maybe"}, "active"), ({"password": "x"}, "password"),
                                        ({"role": "admin"}, "role")])
def test_update_user_bad_field(client, world, body, field):
    r = client.patch(f"/users/{world.users['officer_a'].id}", headers=world.auth("admin"), json=body)
    assert r.status_code == 422 and field in _fields(r), r.text


@pytest.mark.parametrize("body,field", [
    ({"name": "", "level": "office"}, "name"), ({"name": "x", "level": "planet"}, "level"),
    ({"name": "x", "level": "office", "parent_id": 0}, "parent_id"), ({"name": "x", "level": "grid"}, "parent_id"),
    ({"name": "x", "level": "bureau", "parent_id": "BUREAU"}, "level"), ({"name": "x", "level": "office", "q": 1}, "q"),
])
def test_create_jurisdiction_bad_field(client, world, body, field):
    if body.get("parent_id") == "BUREAU":
        body["parent_id"] = world.bureau.id
    r = client.post("/jurisdictions", headers=world.auth("admin"), json=body)
    assert r.status_code == 422 and field in _fields(r), r.text


def test_jurisdiction_create_and_update(client, world):
    r = client.post("/jurisdictions", headers=world.auth("admin"),
                    json={"name": "网格1", "level": "grid", "parent_id": world.office_a.id})
    assert r.status_code == 201, r.text
    r2 = client.patch(f"/jurisdictions/{r.json()['id']}", headers=world.auth("admin"), json={"name": ""})
    assert r2.status_code == 422 and "name" in _fields(r2)


@pytest.mark.parametrize("body,field", [
    ({"name": "p", "kind": "watch", "protocol": "native"}, "kind"),
    ({"name": "p", "kind": "phone", "protocol": "smoke"}, "protocol"),
    ({"name": "p", "kind": "phone", "protocol": "owntracks"}, "owntracks"),
    ({"name": "", "kind": "phone", "protocol": "native"}, "name"),
    ({"name": "p", "kind": "phone", "protocol": "native", "secret": "mine"}, "secret"),
])
def test_create_device_bad_field(client, world, body, field):
    body = {"supervisee_id": world.supervisees["a"].id, **body}
    r = client.post("/devices", headers=world.auth("officer_a"), json=body)
    assert r.status_code == 422 and field in _fields(r), r.text


def test_device_for_out_of_scope_supervisee(client, world):
    r = client.post("/devices", headers=world.auth("officer_a"),
                    json={"supervisee_id": world.supervisees["b"].id, "name": "p", "kind": "phone", "protocol": "native"})
    assert r.status_code == 422 and "supervisee_id" in _fields(r)


def test_update_device_bad_field(client, world):
    r = client.post("/devices", headers=world.auth("officer_a"),
                    json={"supervisee_id": world.supervisees["a"].id, "name": "p", "kind": "phone", "protocol": "native"})
    did = r.json()["id"]
    assert len(r.json()["secret"]) >= 40
    r = client.patch(f"/devices/{did}", headers=world.auth("officer_a"), json={"active": "yes please"})
    assert r.status_code == 422 and "active" in _fields(r)
    r = client.patch(f"/devices/{did}", headers=world.auth("officer_a"), json={"rotate_secret": True})
    assert r.status_code == 200 and r.json()["secret"]


def test_page_size_hard_limit(client, world):
    r = client.get("/supervisees", headers=world.auth("manager"), params={"limit": 10_000})
    assert r.status_code == 422 and "limit" in _fields(r)
    r = client.get("/supervisees", headers=world.auth("manager"), params={"limit": 1})
    assert r.status_code == 200 and len(r.json()["items"]) == 1 and r.json()["total"] >= 3
