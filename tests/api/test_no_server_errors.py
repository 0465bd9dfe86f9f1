"""Bad input to any write route gives a 4xx, never a 500.

Walks every POST/PATCH/PUT route of the application, as each staff role,
with bodies that are wrong in the usual ways, and checks the answer is a
client error with a message.
"""
from __future__ import annotations

import pytest

BAD_BODIES = [
    b"",
    b"{",
    b"[]",
    b'"text"',
    b"null",
    b'{"unknown_field": 1}',
    b'{"name": NaN, "lat": Infinity, "lon": -Infinity}',
    b'{"id": {"$gt": ""}, "supervisee_id": "1; DROP TABLE users", "reason": 5}',
    b'{"fixes": [{"id": 1, "time": "yesterday", "lat": "north", "lon": null, "accuracy": -1}]}',
    "{\"name\": \"\u0000\u202e\", \"body\": \"x\"}".encode(),
    b'{"limit": 99999999999999999999999999, "officer_id": 1e400}',
    # issue 12, hole 7: past PostgreSQL's bigint, NUL inside lists, a lone surrogate
    b'{"supervisee_id": 9223372036854775808, "officer_id": 9223372036854775808, "office_id": 9223372036854775808}',
    b'{"admin_codes": ["330803\\u0000"], "permitted_area_codes": ["\\u0000"]}',
    b'{"name": "\\ud800", "fixes": [{"id": "a\\udfff", "time": "2026-01-01T00:00:00Z", "lat": 1, "lon": 1}]}',
]


def _write_routes(app):
    # The OpenAPI document lists every route, however routers are nested.
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            if method.upper() in {"POST", "PATCH", "PUT"}:
                yield method.upper(), path


def _concrete(path: str, world) -> str:
    ids = {"supervisee_id": world.supervisees["a"].id, "user_id": world.users["officer_a"].id,
           "jurisdiction_id": world.office_a.id}
    for name, value in ids.items():
        path = path.replace("{" + name + "}", str(value))
    import re

    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize("who", ["officer_a", "manager", "admin", "supervisee_a"])
def test_write_routes_never_500(client, app, world, who):
    failures = []
    for method, path in _write_routes(app):
        url = _concrete(path, world)
        for body in BAD_BODIES:
            headers = {**world.auth(who), "content-type": "application/json"}
            r = client.request(method, url, content=body, headers=headers)
            if r.status_code >= 500:
                failures.append((method, path, body[:40], r.status_code, r.text[:200]))
            elif r.status_code >= 400:
                assert r.json().get("detail"), (method, path, r.text)
    assert not failures, failures


def test_route_walk_covers_the_api(app):
    paths = {path for _, path in _write_routes(app)}
    assert {"/supervisees", "/devices", "/users", "/jurisdictions", "/ingest/native"} <= paths
    assert len(paths) >= 15


def test_ingest_routes_never_500(client, db, settings, world):
    from tests.factories import add_device

    _, secret = add_device(db, settings, world.supervisees["a"], "native")
    for body in BAD_BODIES:
        for url in ("/ingest/native", "/ingest/osmand", f"/ingest/osmand?id={secret}&lat=x", "/ingest/owntracks"):
            headers = {"Authorization": f"Bearer {secret}", "content-type": "application/json"}
            r = client.post(url, content=body, headers=headers)
            assert 400 <= r.status_code < 500 or r.status_code == 200, (url, body, r.status_code, r.text)
