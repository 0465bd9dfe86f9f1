"""Ingest routes: one per device protocol, plus GPX upload by an officer.

Each route authenticates the device, decodes with its protocol's decoder,
runs the pipeline; the unit of work commits — and only then is the answer sent: an acknowledged fix is
durable. Device credentials are accepted here and nowhere else.
"""
from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

from sqlalchemy.orm import Session

from api.deps import CtxDep, UowDep
from core.errors import Forbidden, Invalid, Unauthorized
from geo.ingest.decoders import gpx, native, osmand, owntracks
from geo.ingest.devices import DeviceIdentity, authenticate_owntracks, authenticate_secret
from geo.ingest.decoders._fields import load_json
from geo.ingest.errors import DecodeError
from geo.ingest.fix import DecodedFix
from geo.ingest.pipeline import IngestContext, ingest
from supervision.models import Role
from supervision.supervisees import get_scoped

router = APIRouter(tags=["ingest"])
MAX_BODY = 2 * 1024 * 1024
MAX_GPX = 32 * 1024 * 1024


def _decode_error(exc: DecodeError) -> Invalid:
    return Invalid(f"{exc.field}: {exc.message}", field=exc.field)


async def _body(request: Request, limit: int = MAX_BODY) -> bytes:
    body = await request.body()
    if len(body) > limit:
        raise Invalid(f"request body larger than {limit} bytes", field="body")
    return body


def _run(request: Request, session: Session, auth, fixes_of) -> dict:
    """Authenticate, decode and ingest in one worker thread and one transaction
    (the unit of work commits it before the answer is sent)."""
    state = request.app.state
    device: DeviceIdentity = auth(session)
    try:
        fixes: list[DecodedFix] = fixes_of()
    except DecodeError as exc:
        raise _decode_error(exc) from None
    ctx = IngestContext(db=session, now=state.clock.now(), settings=state.settings, device=device,
                        fences=state.fence_cache)
    return ingest(fixes, ctx).as_dict()


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("device bearer token required")
    return token.strip()


@router.post("/ingest/native", summary="Batch of fixes from our own app (device bearer token)")
async def ingest_native(request: Request, uow: UowDep):
    token = _bearer(request)
    body = await _body(request)
    key = request.app.state.settings.auth.device_key
    result = await run_in_threadpool(_run, request, uow.session, lambda db: authenticate_secret(db, key, token),
                                     lambda: native.decode(body))
    return result


@router.get("/ingest/osmand", operation_id="ingest_osmand_query", summary="OsmAnd / Traccar Client, query string")
@router.post("/ingest/osmand", operation_id="ingest_osmand_post", summary="OsmAnd / Traccar Client, form or JSON")
async def ingest_osmand(request: Request, uow: UowDep):
    params = dict(request.query_params)
    json_body = None
    if request.method == "POST":
        body = await _body(request)
        ctype = request.headers.get("content-type", "")
        if "json" in ctype and body:
            try:
                json_body = load_json(body)
            except DecodeError as exc:
                raise _decode_error(exc) from None
        elif "form" in ctype:
            form = await request.form()
            params.update({k: str(v) for k, v in form.items()})
    try:
        device_key, fixes = osmand.decode_batch(params, json_body)
    except DecodeError as exc:
        raise _decode_error(exc) from None
    key = request.app.state.settings.auth.device_key
    await run_in_threadpool(_run, request, uow.session, lambda db: authenticate_secret(db, key, device_key), lambda: fixes)
    return PlainTextResponse("OK")


@router.post("/ingest/owntracks", summary="OwnTracks HTTP mode (Basic auth)")
async def ingest_owntracks(request: Request, uow: UowDep):
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user = password = ""
    if scheme.lower() != "basic" or not password:
        raise Unauthorized("HTTP Basic credentials required")
    body = await _body(request)
    headers = dict(request.headers)
    key = request.app.state.settings.auth.device_key
    x_user = request.headers.get("x-limit-u") or user
    x_device = request.headers.get("x-limit-d")
    await run_in_threadpool(_run, request, uow.session, lambda db: authenticate_owntracks(db, key, x_user, password, x_device),
                            lambda: owntracks.decode(body, headers))
    return JSONResponse([])


@router.post("/supervisees/{supervisee_id}/gpx", summary="Import a GPX track for one supervisee (officer)")
async def import_gpx(supervisee_id: int, request: Request, ctx: CtxDep,
                     datum: Annotated[str, Query(pattern="^(wgs84|gcj02|bd09)$")] = "wgs84"):
    if ctx.principal.role not in (Role.officer, Role.manager):
        raise Forbidden(f"role {ctx.principal.role} may not import tracks")
    body = await _body(request, MAX_GPX)

    def run() -> dict:
        supervisee = get_scoped(ctx, supervisee_id)
        try:
            fixes = gpx.decode(body, datum=datum)
        except DecodeError as exc:
            raise _decode_error(exc) from None
        device = DeviceIdentity(None, supervisee.id, supervisee.office_id, supervisee.tier, "gpx", supervisee.status)
        state = request.app.state
        result = ingest(fixes, IngestContext(db=ctx.db, now=ctx.clock.now(), settings=ctx.settings, device=device,
                                             fences=state.fence_cache))
        ctx.record("fixes.import_gpx", "supervisee", supervisee.id, detail=result.as_dict())
        return result.as_dict(with_alerts=True)

    return await run_in_threadpool(run)
