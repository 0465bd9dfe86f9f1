"""The device ingest routes served past FastAPI's routing (api/direct_routes.py) answer
as every other route does: behind the host check, the request id and the body limit,
refusals in the app's error format, other methods and paths left to FastAPI."""
from __future__ import annotations

from api.routes.ingest import DIRECT


def test_refusal_in_the_app_format_with_a_request_id(client):
    r = client.post("/ingest/native", json={"fixes": []}, headers={"X-Request-ID": "req-direct-1"})
    assert r.status_code == 401
    assert r.json()["detail"] == "device bearer token required"
    assert r.headers["x-request-id"] == "req-direct-1"
    assert r.headers["www-authenticate"] == "Bearer"

    r = client.post("/ingest/owntracks", json={"_type": "location"})
    assert r.status_code == 401 and r.json()["detail"] == "HTTP Basic credentials required"
    assert r.headers["x-request-id"]


def test_host_check_and_body_limit_still_apply(client):
    r = client.post("/ingest/native", json={"fixes": []}, headers={"Host": "evil.example"})
    assert r.status_code == 400
    r = client.post("/ingest/native", content=b"x" * (3 * 1024 * 1024),
                    headers={"Authorization": "Bearer nope", "Content-Type": "application/json"})
    assert r.status_code == 413


def test_other_methods_and_paths_reach_fastapi(client):
    assert ("GET", "/ingest/native") not in DIRECT
    assert client.get("/ingest/native").status_code == 405
    assert client.post("/ingest/native/", follow_redirects=False).status_code in (307, 404)
    assert client.post("/ingest/nativex").status_code == 404
