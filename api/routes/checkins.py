"""REST routes for check-ins (报到): the supervisee's plan, due check-ins, challenge, submit and history;
the phone's location-only check-ins; officers' spot checks, review queue and decisions; managers' compliance.

Thin: parse, call the service, answer; the unit of work (api.deps) commits or rolls back.
Out of scope answers 404, exactly like an id that does not exist.
"""
from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.deps import CtxDep, PagingDep, UowDep, anonymous_ctx
from api.limits import heavy_route
from checkins import enrol, photos, policy, review, service
from checkins.face_check import Photos
from checkins.schemas import DecideIn, LocationCheckinIn, PolicyIn, SpotCheckIn
from checkins.submit import LocationIn
from core.errors import Invalid, Unauthorized
from core.schemas import Id
from geo.ingest.devices import authenticate_secret
from supervision.models import DeviceProtocol, Role
from supervision.scope import require_role

router = APIRouter(tags=["checkins"])
_404 = {404: {"description": "Not found, or outside your jurisdiction (indistinguishable)"}}
MAX_PHOTO = 8 * 1024 * 1024  # per photo
MAX_BODY = 2 * MAX_PHOTO + 64 * 1024  # two photos plus the form fields
MAX_ENROL_BODY = 6 * MAX_PHOTO + 64 * 1024
PhotoCtx = heavy_route("photo check-in")  # per user: each request is up to 16 MiB of photos to decode
EnrolCtx = heavy_route("face enrolment")


def _location(data: LocationCheckinIn) -> LocationIn:
    return LocationIn(lon=data.lon, lat=data.lat, accuracy_m=data.accuracy_m, datum=data.datum)


# --- supervisee -------------------------------------------------------------------------

@router.get("/checkins/plan", summary="My check-in plan and what is open or coming")
def my_plan(ctx: CtxDep):
    return service.my_plan(ctx=ctx)


@router.get("/checkins/due", summary="My check-ins open now")
def due(ctx: CtxDep):
    return service.due_now(ctx=ctx)


@router.post("/checkins/{occurrence_id}/challenge", responses=_404, name="checkin.challenge",
             summary="A one-time nonce and a random challenge for an open check-in")
def challenge(occurrence_id: Id, ctx: CtxDep):
    return service.fetch_challenge(ctx=ctx, occurrence_id=occurrence_id)


@router.post("/checkins/{occurrence_id}/location", responses=_404, name="checkin.submit",
             summary="Submit a location-only check-in (account)")
def submit_location(occurrence_id: Id, data: LocationCheckinIn, request: Request, ctx: CtxDep):
    return service.submit_checkin(ctx=ctx, occurrence_id=occurrence_id, nonce=data.nonce, location=_location(data),
                                  fences=request.app.state.fence_cache, photos=None)


@router.post("/checkins/{occurrence_id}/submit", responses=_404, name="checkin.submit_photos",
             summary="Submit a check-in: location + neutral selfie + challenge photo (multipart/form-data: "
                     "nonce, lon, lat, accuracy_m, datum; files neutral, challenge)")
async def submit_photos(occurrence_id: Id, request: Request, ctx: PhotoCtx):
    # The form is read here, not by FastAPI: the caller is checked (and rate-limited) before the
    # body is read, and a malformed form is a refusal with a reason (and an audit row). The photos
    # are handed to the service unread: it reads them only once window, nonce and accuracy pass.
    require_role(ctx.principal, {Role.supervisee}, "check in")
    form = await _form(request, max_files=2)
    fields = {k: form.get(k) for k in ("nonce", "lon", "lat", "accuracy_m", "datum") if form.get(k) is not None}
    if any(not isinstance(v, str) for v in fields.values()):
        raise Invalid("nonce, lon, lat, accuracy_m and datum are form fields, not files", field="body")
    try:
        data = LocationCheckinIn(**fields)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    uploads = {}
    for name in ("neutral", "challenge"):
        upload = form.get(name)
        if not isinstance(upload, UploadFile):
            raise Invalid(f"the {name} photo is missing (a file part named {name!r})", field=name)
        uploads[name] = upload

    def photos() -> Photos:  # runs in the thread pool, inside the service
        return Photos(neutral=_read_photo(uploads["neutral"], "neutral"),
                      challenge=_read_photo(uploads["challenge"], "challenge"))

    return await run_in_threadpool(
        service.submit_checkin, ctx=ctx, occurrence_id=occurrence_id, nonce=data.nonce, location=_location(data),
        fences=request.app.state.fence_cache, photos=photos)


@router.post("/supervisees/{supervisee_id}/face-enrolment", status_code=201, responses=_404, name="face.enrol",
             summary="Enrol (or re-enrol) a supervisee's face: 2-6 reference photos, multipart files 'photos'")
async def enrol_face(supervisee_id: Id, request: Request, ctx: EnrolCtx):
    require_role(ctx.principal, {Role.officer, Role.manager}, "enrol faces")
    form = await _form(request, max_files=enrol.MAX_PHOTOS)
    uploads = form.getlist("photos")
    if any(not isinstance(upload, UploadFile) for upload in uploads):
        raise Invalid("photos are file parts named 'photos'", field="photos")
    photos = await run_in_threadpool(lambda: [_read_photo(upload, "photos") for upload in uploads])
    return await run_in_threadpool(enrol.enrol, ctx=ctx, supervisee_id=supervisee_id, photos=photos)


async def _form(request: Request, *, max_files: int):
    try:
        return await request.form(max_files=max_files, max_fields=8, max_part_size=MAX_PHOTO)
    except Exception as exc:  # noqa: BLE001 - starlette's MultiPartException and friends: the client's fault
        raise Invalid(f"unreadable multipart form: {exc}"[:200], field="body") from None


def _read_photo(upload: UploadFile, name: str) -> bytes:
    """The part's bytes (blocking: the parsed form spooled it to a temporary file)."""
    upload.file.seek(0)
    body = upload.file.read(MAX_PHOTO + 1)
    if len(body) > MAX_PHOTO:
        raise Invalid(f"{name} photo is larger than {MAX_PHOTO // (1024 * 1024)} MiB", field=name)
    return body


@router.get("/checkins/history", summary="Check-in history (mine; staff: a supervisee's, audited)")
def history(ctx: CtxDep, paging: PagingDep, supervisee_id: Id | None = Query(None)):
    return service.history(ctx=ctx, supervisee_id=supervisee_id, limit=paging.limit, offset=paging.offset)


# --- the phone (device credential, location only) ------------------------------------------

def _device(request: Request, uow: UowDep):
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("device bearer token required")
    ctx = anonymous_ctx(request, uow)
    state = request.app.state
    device = authenticate_secret(state.settings.auth.device_key, token.strip(), protocol=DeviceProtocol.native,
                                 lookup=state.device_cache.lookup_in(uow.session))
    return ctx, device


@router.post("/device/checkins/{occurrence_id}/challenge", responses=_404, name="checkin.device_challenge",
             summary="A nonce for a location-only check-in (the phone's device credential)")
def device_challenge(occurrence_id: Id, request: Request, uow: UowDep):
    ctx, device = _device(request, uow)
    return service.device_challenge(ctx=ctx, device=device, occurrence_id=occurrence_id)


@router.post("/device/checkins/{occurrence_id}/location", responses=_404, name="checkin.device_submit",
             summary="Submit a location-only check-in (the phone's device credential)")
def device_location(occurrence_id: Id, data: LocationCheckinIn, request: Request, uow: UowDep):
    ctx, device = _device(request, uow)
    return service.device_submit(ctx=ctx, device=device, occurrence_id=occurrence_id, nonce=data.nonce,
                                 location=_location(data), fences=request.app.state.fence_cache)


# --- officers and managers -------------------------------------------------------------------

@router.post("/checkins/spot-checks", status_code=201, name="checkin.spot_check", summary="Issue a spot check (随机点名)")
def spot_check(data: SpotCheckIn, ctx: CtxDep):
    return service.issue_spot_check(ctx=ctx, supervisee_id=data.supervisee_id, minutes=data.minutes,
                                    requires_face=data.requires_face)


@router.get("/checkins/ledger", summary="Missed and failed check-ins; pending=true: the review queue")
def ledger(ctx: CtxDep, paging: PagingDep, pending: bool = False, supervisee_id: Id | None = Query(None)):
    return review.list_ledger(ctx=ctx, pending=pending, supervisee_id=supervisee_id, limit=paging.limit,
                              offset=paging.offset)


@router.post("/checkins/ledger/{entry_id}/decide", responses=_404, name="checkin.decide",
             summary="Confirm or overturn a missed / failed check-in, with a reason")
def decide(entry_id: Id, data: DecideIn, ctx: CtxDep):
    return review.decide(ctx=ctx, entry_id=entry_id, decision=data.decision, reason=data.reason)


@router.get("/checkins/photos/{media_id}", responses={**_404, 200: {"content": {"image/jpeg": {}}}},
            response_class=Response, summary="One check-in or face-enrolment photo (officers, managers; audited)")
def photo(media_id: Id, ctx: CtxDep):
    blob = photos.read_photo(ctx=ctx, media_id=media_id)
    # Personal biometric data: no browser or proxy may keep a copy.
    return Response(blob.data, media_type=blob.content_type, headers={"Cache-Control": "no-store"})


@router.get("/checkins/compliance", summary="Per-office compliance by local month (managers, auditors)")
def compliance(ctx: CtxDep, month_from: date, month_to: date):
    return review.compliance(ctx=ctx, month_from=month_from, month_to=month_to)


@router.get("/checkin-policies/{jurisdiction_id}", responses=_404)
def get_policy(jurisdiction_id: Id, ctx: CtxDep):
    return policy.get_policy(ctx=ctx, jurisdiction_id=jurisdiction_id)


@router.put("/checkin-policies/{jurisdiction_id}", responses=_404, name="checkin_policy.set")
def set_policy(jurisdiction_id: Id, data: PolicyIn, ctx: CtxDep):
    return policy.set_policy(ctx=ctx, jurisdiction_id=jurisdiction_id, values=data.model_dump())
