"""The service as a whole: health checks the database, OpenAPI is published."""
from __future__ import annotations


def test_health_checks_database(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json()["database"] == "ok" and r.json()["postgis"].startswith("3.")


def test_openapi_document(client):
    doc = client.get("/openapi.json").json()
    for path in ("/supervisees", "/supervisees/{supervisee_id}", "/devices", "/users", "/jurisdictions", "/auth/login"):
        assert path in doc["paths"], path


def test_request_id_echoed(client):
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    assert len(client.get("/health", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"]) == 32
