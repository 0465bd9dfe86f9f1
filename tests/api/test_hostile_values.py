"""Values the database cannot hold answer a 4xx naming the field, never a 500 (issue 12, hole 7).

An outside fuzz run found 98 distinct 500s: any integer id >= 2**63 in a
path, query or body (PostgreSQL bigint ends at 2**63 - 1), NUL inside string
lists, a GPX file declaring UTF-7, ``/reports/leave?to=9999-12-31``, a lone
surrogate in a native fix id and NUL inside OsmAnd JSON ``extras``. Each is
sent here through the real routes.
"""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from api.deps import UowDep
from tests.api.test_unit_of_work import CASES, _fill
from tests.factories import add_device

TOO_BIG = 2**63  # one past PostgreSQL's bigint
SOON = datetime.now(UTC) + timedelta(days=2)
LEAVE_TIMES = {"reason": "探亲", "depart_at": SOON.isoformat(), "return_at": (SOON + timedelta(days=1)).isoformat()}


def _client_error(r, where) -> None:
    assert 400 <= r.status_code < 500, (where, r.status_code, r.text[:300])
    assert r.json().get("detail"), (where, r.text[:300])


def _routes(app):
    for path, operations in app.openapi()["paths"].items():
        for method, op in operations.items():
            yield method.upper(), path, op


@pytest.mark.parametrize("who", ["officer_a", "manager", "auditor", "admin", "supervisee_a"])
def test_an_id_past_bigint_in_a_path_is_a_4xx(who, client, app, world):
    for method, path, _ in _routes(app):
        if "{" not in path:
            continue
        url = re.sub(r"\{[^}]+\}", str(TOO_BIG), path)
        r = client.request(method, url, headers=world.auth(who), json={})
        _client_error(r, (method, path))


@pytest.mark.parametrize("who", ["officer_a", "manager", "auditor"])
def test_an_integer_past_bigint_in_a_query_is_a_4xx(who, client, app, world):
    for method, path, op in _routes(app):
        if method != "GET" or "{" in path:
            continue
        for param in op.get("parameters", []):
            schema = param.get("schema", {})
            types = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
            if param["in"] == "query" and "integer" in types:
                r = client.get(path, params={param["name"]: str(TOO_BIG)}, headers=world.auth(who))
                _client_error(r, (path, param["name"]))


def _with_big_ids(value):
    if isinstance(value, dict):
        return {k: TOO_BIG if k.endswith("_id") else _with_big_ids(v) for k, v in value.items()}
    return value


def _has_id(body) -> bool:
    return isinstance(body, dict) and any(k.endswith("_id") or _has_id(v) for k, v in body.items())


@pytest.mark.parametrize("route", sorted(r for r in CASES if _has_id(CASES[r][2])), ids=lambda r: f"{r[0]} {r[1]}")
def test_an_id_past_bigint_in_a_body_is_a_4xx(route, client, world):
    method, template = route
    _, values, body = CASES[route]
    big = _with_big_ids(_fill(body, world))
    url = re.sub(r"\{[^}]+\}", str(world.supervisees["a"].id), template)
    for who in ("officer_a", "manager", "admin"):
        r = client.request(method, url, headers=world.auth(who), json=big)
        _client_error(r, (method, template, who))


def test_an_officer_id_past_bigint_is_named(client, world):
    r = client.post("/leave", headers=world.auth("officer_a"),
                    json={"supervisee_id": TOO_BIG, "destination": {"address": "杭州", "admin_codes": ["330803"]},
                          **LEAVE_TIMES})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "body.supervisee_id"


@pytest.mark.parametrize("codes", [["330803\x00"], ["\x00"]])
def test_nul_inside_admin_codes_of_a_leave_is_a_422(codes, client, world):
    body = {"destination": {"address": "杭州", "admin_codes": codes}, **LEAVE_TIMES}
    r = client.post("/leave", headers=world.auth("supervisee_a"), json=body)
    assert r.status_code == 422, r.text
    # Refused by the admin-code shape (which no NUL matches) or by the NUL check: a 422 either way.
    assert "admin_codes" in r.json()["errors"][0]["field"]


def test_nul_inside_permitted_area_codes_is_a_422(client, world):
    sup = world.supervisees["a"].id
    r = client.patch(f"/supervisees/{sup}", headers=world.auth("officer_a"),
                     json={"permitted_area_codes": ["330803", "33\x0008"]})
    assert r.status_code == 422, r.text
    assert "permitted_area_codes" in r.json()["errors"][0]["field"]


def test_nul_inside_a_fence_admin_code_is_a_422(client, world):
    sup = world.supervisees["a"].id
    r = client.post(f"/supervisees/{sup}/fences", headers=world.auth("officer_a"),
                    json={"kind": "permitted", "admin_codes": ["\x00"]})
    assert r.status_code == 422, r.text


def test_a_gpx_declaring_utf7_is_a_4xx(client, world):
    sup = world.supervisees["a"].id
    body = (b'<?xml version="1.0" encoding="UTF-7"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
            b'<trk><trkseg><trkpt lat="28.9" lon="118.9"><time>2026-01-01T00:00:00Z</time></trkpt>'
            b'</trkseg></trk></gpx>')
    r = client.post(f"/supervisees/{sup}/gpx", headers=world.auth("officer_a"), content=body)
    _client_error(r, "gpx utf-7")


@pytest.mark.parametrize("query", ["to=9999-12-31", "from=0001-01-01", "to=0001-01-05", "from=0001-01-01&to=9999-12-31"])
def test_a_leave_report_at_the_end_of_the_calendar_is_a_4xx_or_an_answer(query, client, world):
    r = client.get(f"/reports/leave?{query}", headers=world.auth("manager"))
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        _client_error(r, query)


def test_a_lone_surrogate_in_a_native_fix_id_is_a_4xx(client, db, settings, world):
    _, secret = add_device(db, settings, world.supervisees["a"], "native")
    t = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    body = '{"fixes": [{"id": "a\\ud800b", "time": "%s", "lat": 28.9, "lon": 118.9, "accuracy": 10}]}' % t
    r = client.post("/ingest/native", content=body.encode(),
                    headers={"Authorization": f"Bearer {secret}", "content-type": "application/json"})
    _client_error(r, "surrogate")


@pytest.mark.parametrize("extras", [{"note": "a\x00b"}, {"a\x00": 1}, {"deep": [{"x": "\x00"}]},
                                    {"s": "\ud800"}])
def test_nul_or_a_surrogate_inside_osmand_extras_is_a_4xx(extras, client, db, settings, world):
    _, secret = add_device(db, settings, world.supervisees["a"], "osmand")
    body = {"device_id": secret, "location": {"timestamp": "2026-01-01T00:02:00.000Z", "uuid": "a1b2",
            "coords": {"latitude": 28.9, "longitude": 118.9, "accuracy": 8}, "extras": extras}}
    r = client.post("/ingest/osmand", content=json.dumps(body).encode(), headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])


def test_a_database_data_error_is_a_422_not_a_500(app, client, world):
    """Whatever slips past validation into a DataError (psycopg or SQLAlchemy) answers 422."""
    def overflow(uow: UowDep):
        uow.session.execute(text("SELECT CAST(:n AS integer)"), {"n": 2**40})

    app.add_api_route("/test-only/overflow", overflow, methods=["GET"])
    r = client.get("/test-only/overflow", headers=world.auth("officer_a"))
    assert r.status_code == 422, r.text
    assert "out of range" in r.json()["detail"]
    assert "2**40" not in r.text and str(2**40) not in r.text  # the parameter is not echoed


@pytest.mark.parametrize("query", ["until=0001-01-01T00:00:00Z", "since=0001-01-01T00:00:00%2B14:00",
                                   "until=9999-12-31T23:59:59-12:00", "since=9999-12-31T00:00:00Z"])
def test_a_track_read_at_the_end_of_time_is_a_4xx_or_an_answer(query, client, world):
    sup = world.supervisees["a"].id
    r = client.get(f"/supervisees/{sup}/fixes?{query}", headers=world.auth("officer_a"))
    assert r.status_code < 500, (r.status_code, r.text[:300])
