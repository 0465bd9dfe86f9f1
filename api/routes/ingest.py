"""Ingest routes: one per device protocol, plus GPX upload by an officer.

Each route authenticates the device (from the credential cache), decodes with its
protocol's decoder, runs the pipeline, and answers only once the transaction holding its
fixes has committed: an acknowledged fix is durable. Concurrent requests share one
transaction (geo/ingest/group_commit.py). Device credentials are accepted here and
nowhere else.
"""
from __future__ import annotations

import base64
import functools
import binascii
import threading
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.orm import Session

from api.deps import transaction
from api.limits import check_device, check_device_fixes, heavy_route
from core.errors import Forbidden, Invalid, Unauthorized
from core.schemas import Id
from geo.datum import DatumName
from geo.ingest.decoders import Decoded, DeviceMessage, gpx, native, osmand, owntracks
from geo.ingest.devices import CredentialLookup, DeviceIdentity, authenticate_owntracks, authenticate_secret
from geo.ingest.errors import DecodeError
from geo.ingest.group_commit import Prepare
from geo.ingest.pipeline import IngestContext, ingest
from supervision.models import DeviceProtocol, Role
from supervision.supervisees import get_scoped

router = APIRouter(tags=["ingest"])
# Enforced while the body is read, before authentication (api/body_limit.py,
# BODY_LIMITS in api/app.py); checked again here for callers without the middleware.
MAX_BODY = 2 * 1024 * 1024
MAX_GPX = 32 * 1024 * 1024
Decoder = Callable[[DeviceMessage], Decoded]
GpxCtx = heavy_route("gpx upload")


def _decode_error(exc: DecodeError) -> Invalid:
    return Invalid(f"{exc.field}: {exc.message}", field=exc.field)


async def _message(request: Request, limit: int = MAX_BODY, *, datum: str = "wgs84") -> DeviceMessage:
    """The request as a decoder reads it: bounded body, content type, query, headers."""
    body = await request.body()
    if len(body) > limit:
        raise Invalid(f"request body larger than {limit} bytes", field="body")
    return DeviceMessage(body=body, content_type=request.headers.get("content-type", ""),
                         query=dict(request.query_params), headers=dict(request.headers), datum=datum)


def _decode(decoder: Decoder, message: DeviceMessage) -> Decoded:
    try:
        return decoder(message)
    except DecodeError as exc:
        raise _decode_error(exc) from None


Auth = Callable[[CredentialLookup], DeviceIdentity]


def _prepare(request: Request, auth: Auth, decoded: Callable[[], Decoded],
             credential: Callable[[], str]) -> Prepare:
    """What refuses a request before the pipeline: authenticate, decode, limit its fixes."""
    def prepare(lookup: CredentialLookup) -> tuple[DeviceIdentity, list]:
        device = auth(lookup)
        fixes = decoded().fixes
        check_device_fixes(request, credential(), len(fixes))
        return device, fixes

    return prepare


async def _ingest(request: Request, message: DeviceMessage, auth: Auth,
                  decoded: Callable[[], Decoded], credential: Callable[[], str]) -> dict:
    """The request's fixes ingested and committed; the acknowledgement.

    Small requests (a phone's fix, a short backlog) join the process's group
    commit. A large batch already pays its round trips and commit once for many
    fixes; in a group it would only make the phones behind it wait, and run
    one batch at a time where several can overlap, so it has its own
    transaction, in a worker thread, as every request had before groups.

    The routes take no unit of work from FastAPI: a sync dependency costs two
    hops to a worker thread per request, and the group needs none of it."""
    state = request.app.state
    prepare = _prepare(request, auth, decoded, credential)
    if (state.group_commit is not None and len(message.body) <= state.settings.ingest.group_max_body_bytes
            and not state.settings.testing.unsafe_ack_before_commit):
        return await state.group_commit.submit(prepare)
    return await run_in_threadpool(_run, request, prepare)


def _run(request: Request, prepare: Prepare) -> dict:
    """One request alone, in one worker thread and a transaction of its own (committed
    before the answer is sent): a large batch, any request with group commit off (the
    in-process tests' shared session), and the crash test's negative control."""
    state = request.app.state
    if state.settings.testing.unsafe_ack_before_commit:
        return _run_ack_before_commit(request, prepare)
    with transaction(request) as session:
        return _ingest_in(session, state, prepare)


def _ingest_in(session: Session, state, prepare: Prepare) -> dict:
    device, fixes = prepare(state.device_cache.lookup_in(session))
    ctx = IngestContext(db=session, now=state.clock.now(), settings=state.settings, device=device,
                        fences=state.fence_cache)
    return ingest(fixes, ctx).as_dict()


def _run_ack_before_commit(request: Request, prepare: Prepare) -> dict:
    """TEST ONLY (the crash test's negative control): answer, then commit."""
    session = request.app.state.session_factory()
    try:
        result = _ingest_in(session, request.app.state, prepare)
    except BaseException:
        session.close()
        raise
    _commit_later(session)
    return result


def _commit_later(session: Session, delay: float = 0.5) -> None:
    """TEST ONLY (ZHIJIAO_UNSAFE_ACK_BEFORE_COMMIT): commit after the answer has gone,
    as a server that acknowledges before its commit would. A kill in between loses
    acknowledged fixes, which is what the crash test's checker must then report."""
    def commit() -> None:
        try:
            session.commit()
        finally:
            session.close()

    timer = threading.Timer(delay, commit)
    timer.daemon = True
    timer.start()


def _limited(request: Request, credential: str) -> str:
    # OsmAnd's key is inside the (small, one-fix) message: limited once decoded,
    # still before the credential is looked up.
    check_device(request, credential)
    return credential


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("device bearer token required")
    return token.strip()


@router.post("/ingest/native", summary="Batch of fixes from our own app (device bearer token)")
async def ingest_native(request: Request):
    token = _bearer(request)
    check_device(request, token)  # before the body is even read
    message = await _message(request)
    key = request.app.state.settings.auth.device_key
    # The credential is checked before the body is decoded: no parsing work for strangers.
    return await _ingest(request, message,
                         lambda lookup: authenticate_secret(key, token, protocol=DeviceProtocol.native, lookup=lookup),
                         lambda: _decode(native.decode, message), lambda: token)


@router.get("/ingest/osmand", operation_id="ingest_osmand_query", summary="OsmAnd / Traccar Client, query string",
            response_class=PlainTextResponse)
@router.post("/ingest/osmand", operation_id="ingest_osmand_post", summary="OsmAnd / Traccar Client, form or JSON",
             response_class=PlainTextResponse)
async def ingest_osmand(request: Request):
    message = await _message(request)
    key = request.app.state.settings.auth.device_key
    # The device key travels inside the message, so this protocol decodes
    # before it authenticates: once, in the worker thread, not on the event loop.
    decoded = functools.cache(lambda: _decode(osmand.decode, message))
    await _ingest(request, message,
                  lambda lookup: authenticate_secret(key, _limited(request, decoded().device_key),
                                                     protocol=DeviceProtocol.osmand, lookup=lookup),
                  decoded, lambda: decoded().device_key)
    return PlainTextResponse("OK")


@router.post("/ingest/owntracks", summary="OwnTracks HTTP mode (Basic auth)")
async def ingest_owntracks(request: Request):
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user = password = ""
    if scheme.lower() != "basic" or not password:
        raise Unauthorized("HTTP Basic credentials required")
    check_device(request, password)
    message = await _message(request)
    key = request.app.state.settings.auth.device_key
    x_user = request.headers.get("x-limit-u") or user
    x_device = request.headers.get("x-limit-d")
    await _ingest(request, message, lambda lookup: authenticate_owntracks(key, x_user, password, x_device, lookup),
                  lambda: _decode(owntracks.decode, message), lambda: password)
    return JSONResponse([])


@router.post("/supervisees/{supervisee_id}/gpx", summary="Import a GPX track for one supervisee (officer)")
async def import_gpx(supervisee_id: Id, request: Request, ctx: GpxCtx,
                     datum: DatumName = "wgs84"):
    if ctx.principal.role not in (Role.officer, Role.manager):
        raise Forbidden(f"role {ctx.principal.role} may not import tracks")
    message = await _message(request, MAX_GPX, datum=datum)

    def run() -> dict:
        supervisee = get_scoped(ctx, supervisee_id)
        fixes = _decode(gpx.decode, message).fixes
        device = DeviceIdentity(None, supervisee.id, supervisee.office_id, supervisee.tier, "gpx", supervisee.status)
        state = request.app.state
        result = ingest(fixes, IngestContext(db=ctx.db, now=ctx.clock.now(), settings=ctx.settings, device=device,
                                             fences=state.fence_cache))
        ctx.record("fixes.import_gpx", "supervisee", supervisee.id, detail=result.as_dict())
        return result.as_dict(with_alerts=True)

    return await run_in_threadpool(run)


# Served straight from the app's middleware (api/direct_routes.py): most of a server's
# requests are these, and FastAPI's routing and handler cost several times their own work.
DIRECT = {
    ("POST", "/ingest/native"): ingest_native,
    ("GET", "/ingest/osmand"): ingest_osmand,
    ("POST", "/ingest/osmand"): ingest_osmand,
    ("POST", "/ingest/owntracks"): ingest_owntracks,
}
