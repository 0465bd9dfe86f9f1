"""The error answers in the OpenAPI document, as the app really gives them.

FastAPI documents only a 422 with its own validation body (``detail`` as a list), which is
not what api/errors.py answers. Every refusal here is one JSON shape (``Error``):
``{"detail": "...", "errors": [{"field", "message"}]}`` (``errors`` when a field is to blame),
and a 404 is always exactly ``{"detail": "not found"}``. This adds, to every operation, the
statuses its kind of route can answer, so clients and the fuzz suite (tests/security/test_fuzz.py)
can hold the app to them.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "what is wrong, for a person"},
        "errors": {
            "type": "array",
            "description": "the fields to blame (validation, a conflict on a field, a body too large)",
            "items": {"type": "object", "required": ["field", "message"],
                      "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
}
_RETRY = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}}

STATUSES: dict[int, tuple[str, dict[str, Any]]] = {
    401: ("Missing, invalid, expired or revoked credentials", {
        "WWW-Authenticate": {"description": "Bearer (staff and supervisee routes)", "schema": {"type": "string"}}}),
    403: ("Your role may not do this", {}),
    404: ("Not found, or outside your jurisdiction (indistinguishable: the body is always "
          '{"detail": "not found"})', {}),
    409: ("Conflicts with the object's state (e.g. deciding a leave that is no longer pending)", {}),
    413: ("Request body over this route's limit (answered while the body is read)", {}),
    422: ("Invalid input; ``errors`` names each field", {}),
    429: ("Too many attempts; wait Retry-After seconds", _RETRY),
    503: ("Database unavailable, audit trail not writable, or the server is saturated; retry later", _RETRY),
}

_PUBLIC = {"/health"}
_ANONYMOUS = {"/auth/login"}
_WRITES = {"post", "put", "patch"}
_DEVICE_PREFIX = "/ingest/"


def statuses_of(path: str, method: str) -> list[int]:
    """The error statuses an operation can answer."""
    if path in _PUBLIC:
        return [503]
    codes = [401, 422, 503]
    if method in _WRITES:
        codes.append(413)
    if path in _ANONYMOUS:
        return sorted([*codes, 429])
    if path.startswith(_DEVICE_PREFIX):
        return sorted([*codes, 403, 413, 429])  # 403: the device or its supervisee is inactive
    codes += [403, 404]
    if method in _WRITES:
        codes.append(409)
    return sorted(set(codes))


def document_errors(app: FastAPI) -> None:
    """Replace ``app.openapi`` with one that documents the real error answers."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas["Error"] = ERROR
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for path, operations in doc.get("paths", {}).items():
            for method, op in operations.items():
                responses = op.setdefault("responses", {})
                for code in statuses_of(path, method):
                    description, headers = STATUSES[code]
                    given = responses.get(str(code), {})
                    # Keep a route's own wording, but not FastAPI's generic "Validation Error".
                    said = given.get("description")
                    entry = {"description": said if said and said != "Validation Error" else description,
                             "content": ref}
                    if headers:
                        entry["headers"] = headers
                    responses[str(code)] = entry
        # FastAPI's validation body is not what the app answers (api/errors.py): drop it.
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
