"""One mapping from errors to HTTP answers: 4xx name the field, never a 500."""
from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from core.audit import AuditUnavailable
from core.db import database_outage_reason, is_database_outage
from core.errors import Busy, NotFound, ServiceError, TooManyRequests, Unauthorized

log = logging.getLogger("zhijiao.api")


# Seconds a caller is told to wait when the database is unreachable: devices
# retry their batch (same fix ids) and consoles their request.
DATABASE_RETRY_AFTER = 5

# FastAPI's detail for a body it could not decode (fastapi/routing.py).
_UNPARSABLE_BODY = "There was an error parsing the body"


def _field(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def _words(class_name: str) -> str:
    """``NumericValueOutOfRange`` -> ``numeric value out of range``."""
    return "".join(f" {c.lower()}" if c.isupper() else c for c in class_name).strip() or "data error"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # The client hung up while its body was being read (a load generator
        # stopping, a phone losing signal): nothing was done and nobody is left
        # to answer. Not a server error, so no traceback in the log.
        return Response(status_code=400)

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        if isinstance(exc, NotFound):
            # Identical body whether absent or out of scope.
            return JSONResponse({"detail": "not found"}, status_code=404)
        body: dict = {"detail": exc.message}
        if exc.field:
            body["errors"] = [{"field": exc.field, "message": exc.message}]
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        if isinstance(exc, (TooManyRequests, Busy)):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        # FastAPI answers a body it cannot decode at all (not UTF-8, for JSON) with a bare
        # 400; every other unreadable input is a 422 naming the field, so this is one too.
        if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
            message = "the request body cannot be read as its content type (JSON must be UTF-8)"
            return JSONResponse({"detail": message, "errors": [{"field": "body", "message": message}]},
                                status_code=422)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in exc.errors()]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return JSONResponse({"detail": f"invalid request: {summary}", "errors": errors}, status_code=422)

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # A constraint caught what validation did not (e.g. a race on a unique
        # name): the caller's input conflicts with stored data.
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        log.info("integrity error on %s: %s", request.url.path, constraint)
        # The constraint's name stays in the log: it can say more than the caller may know.
        return JSONResponse({"detail": "conflicts with existing data"}, status_code=409)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> JSONResponse:
        # A value got past validation that the column cannot hold (out of
        # range, unrepresentable text): the caller's input, so a 422, never a
        # 500. The unit of work has rolled the request back. Only the column
        # name (when PostgreSQL gives one) and the error class are told; the
        # statement and its parameters stay out of the answer and the log.
        diag = getattr(exc.orig, "diag", None)
        column = getattr(diag, "column_name", None)
        kind = type(exc.orig).__name__
        log.info("data error on %s %s: %s (column %s)", request.method, request.url.path, kind, column)
        message = f"a value is out of range or cannot be stored ({_words(kind)})"
        body: dict = {"detail": f"{column}: {message}" if column else message}
        if column:
            body["errors"] = [{"field": column, "message": message}]
        return JSONResponse(body, status_code=422)

    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        if not is_database_outage(exc):
            raise exc  # any other database error: a genuine 500
        # One line, and only the path: no traceback, no statement, no parameters
        # (they held a device's credential hash), no query string.
        log.error("database unavailable on %s %s: %s", request.method, request.url.path,
                  database_outage_reason(exc))
        return JSONResponse({"detail": "database unavailable: the request was not carried out; try again later"},
                            status_code=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER)})

    for error in (DBAPIError, psycopg.OperationalError, psycopg.InterfaceError):
        app.add_exception_handler(error, database_unavailable)

    @app.exception_handler(AuditUnavailable)
    async def audit_unavailable(request: Request, exc: AuditUnavailable) -> JSONResponse:
        # Fail closed: the action (or read) was rolled back with its audit row.
        # Not the caller's fault and usually transient, hence 503, and nothing
        # of the requested data in the body.
        log.error("audit trail unavailable on %s %s: %s", request.method, request.url.path, exc,
                  exc_info=exc.__cause__ or exc)
        return JSONResponse({"detail": "audit trail unavailable: the request was not carried out; try again later"},
                            status_code=503, headers={"Retry-After": "30"})
