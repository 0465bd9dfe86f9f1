"""Regression tests for what the fuzz suite (test_fuzz.py) found, one per finding."""
from __future__ import annotations


def test_a_body_that_is_not_utf8_is_a_422_naming_the_body(client, world):
    # Found by Schemathesis: FastAPI answered an undecodable JSON body with a bare 400 that
    # the OpenAPI document did not declare; every other unreadable input is a 422.
    r = client.post("/devices", headers={**world.auth("officer_a"), "content-type": "application/json"},
                    content=b"e\xff")
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"field": "body", "message": r.json()["detail"]}]


def test_the_openapi_document_declares_the_error_body_the_app_gives(app, client, world):
    doc = app.openapi()
    assert "HTTPValidationError" not in str(doc)
    responses = doc["paths"]["/devices"]["post"]["responses"]
    assert {"401", "403", "404", "409", "413", "422", "503"} <= set(responses)
    assert responses["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    r = client.post("/devices", headers=world.auth("officer_a"), json={"name": 1})
    assert r.status_code == 422 and set(r.json()) == {"detail", "errors"}
