"""Remote roll-calls (远程点名) for the REST routes: suggest cameras, start, read, decide, cancel.

An officer asks a supervisee to stand in front of a named camera within N
minutes and make a prescribed gesture; the roll-call job (rollcall.grabbing)
grabs frames in the window and records what they showed; the officer then
confirms or overturns the outcome with a reason. Nothing here is automatic
beyond recording: a face distance never sanctions anyone.

Scoped like everything else: staff see the roll-calls of their jurisdiction,
a supervisee only their own and only the request (camera, gesture,
deadline), never the outcome or the frames: one bit per roll-call would
teach them what the matcher accepts. Out of scope answers 404 like nothing.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from checkins.face_check import enrolled_descriptors
from core import media
from core.basis import record_location_read
from core.context import Ctx
from core.errors import Conflict, Invalid, NotFound
from core.schemas import Page
from geo.ingest.models import Fix
from rollcall import cameras_port
from rollcall.gestures import GESTURES, gesture as pick_gesture
from rollcall.models import Rollcall, RollcallFrame
from supervision.models import Role
from supervision.scope import office_scope, require_role
from supervision.supervisees import get_scoped

OFFICERS = {Role.officer, Role.manager}
STAFF = {Role.officer, Role.manager, Role.auditor}
FRAME_PURPOSE = "remote roll-call"


def rollcall_out(r: Rollcall, *, now, staff: bool) -> dict:
    out = {"id": r.id, "supervisee_id": r.supervisee_id,
           "camera": {"id": r.camera_id, "name": r.camera_name, "lon": r.camera_lon, "lat": r.camera_lat},
           "gesture": r.gesture, "prompt": GESTURES[r.gesture].prompt, "requested_at": r.requested_at,
           "deadline_at": r.deadline_at,
           "state": "open" if r.state == "waiting" and now < r.deadline_at else "closed"}
    if staff:
        out.update(state=r.state, office_id=r.office_id, requested_by=r.requested_by, attempts=r.attempts,
                   last_attempt_at=r.last_attempt_at, outcome=r.outcome, distance=r.distance,
                   finished_at=r.finished_at, evidence=r.evidence, decision=r.decision,
                   decision_reason=r.decision_reason, decided_by=r.decided_by, decided_at=r.decided_at)
    return out


def last_position(ctx: Ctx, supervisee_id: int) -> Fix | None:
    """The phone's newest usable fix (what the nearest cameras are measured from)."""
    return ctx.db.scalar(select(Fix).where(Fix.supervisee_id == supervisee_id, Fix.excluded.is_(False))
                         .order_by(Fix.t.desc()).limit(1))


def suggest_cameras(*, ctx: Ctx, supervisee_id: int, radius_m: float | None) -> dict:
    """The cameras nearest the phone's last position (audited: it reads a location)."""
    require_role(ctx.principal, OFFICERS, "start roll-calls")
    sup = get_scoped(ctx, supervisee_id)
    cfg = ctx.settings.rollcall
    radius = radius_m or cfg.rollcall_suggest_radius_m
    fix = last_position(ctx, sup.id)
    cameras = [] if fix is None else cameras_port.cameras_near(ctx, lon=fix.lon, lat=fix.lat, radius_m=radius,
                                                                limit=cfg.rollcall_suggest_limit)
    record_location_read(ctx, "rollcall.suggest", "supervisee", sup.id, purposes=[None if fix is None else fix.purpose],
                         detail={"purpose": "remote roll-call", "fix_id": None if fix is None else fix.id,
                                 "cameras": [c.id for c in cameras]})
    return {"position": None if fix is None else {"t": fix.t, "lon": fix.lon, "lat": fix.lat,
                                                  "accuracy_m": fix.accuracy_m},
            "radius_m": radius,
            "cameras": [{"id": c.id, "code": c.code, "name": c.name, "lon": c.lon, "lat": c.lat,
                         "distance_m": round(c.distance_m, 1)} for c in cameras]}


def start_rollcall(*, ctx: Ctx, supervisee_id: int, camera_id: int, minutes: int | None,
                   gesture: str | None) -> dict:
    """Ask the supervisee to stand in front of the camera within ``minutes`` and make the gesture."""
    require_role(ctx.principal, OFFICERS, "start roll-calls")
    sup = get_scoped(ctx, supervisee_id)
    if sup.status != "active":
        raise Conflict(f"supervision is {sup.status}")
    camera = cameras_port.scoped_camera(ctx, camera_id)
    cfg = ctx.settings.rollcall
    minutes = minutes or cfg.rollcall_default_minutes
    if not 1 <= minutes <= cfg.rollcall_max_minutes:
        raise Invalid(f"minutes must be between 1 and {cfg.rollcall_max_minutes}", field="minutes")
    try:
        chosen = pick_gesture(gesture)
    except ValueError as exc:
        raise Invalid(str(exc), field="gesture") from None
    if not enrolled_descriptors(ctx, sup.id):
        raise Conflict("the supervisee has no face enrolment: enrol reference photos first")
    now = ctx.clock.now()
    row = Rollcall(supervisee_id=sup.id, office_id=sup.office_id, camera_id=camera.id, camera_name=camera.name,
                   camera_lon=camera.lon, camera_lat=camera.lat, gesture=chosen.kind,
                   requested_by=ctx.principal.user_id, requested_at=now, deadline_at=now + timedelta(minutes=minutes),
                   state="waiting", attempts=0, evidence=[])
    ctx.db.add(row)
    ctx.db.flush()
    ctx.record("rollcall.start", "rollcall", row.id, detail={
        "supervisee_id": sup.id, "camera_id": camera.id, "minutes": minutes, "gesture": chosen.kind})
    return rollcall_out(row, now=now, staff=True)


def _scoped(ctx: Ctx, rollcall_id: int, *, for_update: bool = False) -> Rollcall:
    p = ctx.principal
    clause = (Rollcall.supervisee_id == p.supervisee_id) if p.role == Role.supervisee \
        else office_scope(p, Rollcall.office_id)
    query = select(Rollcall).where(Rollcall.id == rollcall_id, clause)
    row = ctx.db.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise NotFound()
    return row


def my_rollcalls(*, ctx: Ctx) -> list[dict]:
    """The supervisee's open roll-calls: which camera, which gesture, until when."""
    require_role(ctx.principal, {Role.supervisee}, "answer roll-calls")
    now = ctx.clock.now()
    rows = ctx.db.scalars(select(Rollcall).where(
        Rollcall.supervisee_id == ctx.principal.supervisee_id, Rollcall.state == "waiting",
        Rollcall.deadline_at > now).order_by(Rollcall.deadline_at))
    return [rollcall_out(r, now=now, staff=False) for r in rows]


def get_rollcall(*, ctx: Ctx, rollcall_id: int) -> dict:
    p = ctx.principal
    if p.role not in STAFF | {Role.supervisee}:
        require_role(p, STAFF, "read roll-calls")
    row = _scoped(ctx, rollcall_id)
    staff = p.role != Role.supervisee
    out = rollcall_out(row, now=ctx.clock.now(), staff=staff)
    if staff:
        out["frames"] = [{"id": f.id, "attempt": f.attempt, "grabbed_at": f.grabbed_at, "faces": f.faces,
                          "distance": f.distance, "outcome": f.outcome} for f in ctx.db.scalars(
            select(RollcallFrame).where(RollcallFrame.rollcall_id == row.id).order_by(RollcallFrame.id))]
        ctx.record("rollcall.read", "rollcall", row.id, detail={"supervisee_id": row.supervisee_id})
    return out


def list_rollcalls(*, ctx: Ctx, supervisee_id: int | None, pending: bool, limit: int, offset: int) -> Page[dict]:
    """Roll-calls in scope, newest first; ``pending``: finished and not yet decided (the officer's queue)."""
    require_role(ctx.principal, STAFF, "read roll-calls")
    where = [office_scope(ctx.principal, Rollcall.office_id)]
    if supervisee_id is not None:
        where.append(Rollcall.supervisee_id == supervisee_id)
    if pending:
        where += [Rollcall.state == "done", Rollcall.decision.is_(None)]
    total = ctx.db.scalar(select(func.count()).select_from(Rollcall).where(*where)) or 0
    rows = ctx.db.scalars(select(Rollcall).where(*where).order_by(Rollcall.requested_at.desc(), Rollcall.id.desc())
                          .limit(limit).offset(offset))
    now = ctx.clock.now()
    items = [rollcall_out(r, now=now, staff=True) for r in rows]
    ctx.record("rollcall.list", detail={"supervisee_id": supervisee_id, "pending": pending, "count": len(items)})
    return Page(items=items, total=total, limit=limit, offset=offset)


def read_frame(*, ctx: Ctx, frame_id: int) -> media.MediaBlob:
    """One evidence frame, for the officers and managers who can see its roll-call (like check-in photos:
    biometric evidence, so not auditors, admins or the supervisee); the media store audits the read."""
    require_role(ctx.principal, OFFICERS, "see roll-call frames")
    frame = ctx.db.scalar(select(RollcallFrame).join(Rollcall, Rollcall.id == RollcallFrame.rollcall_id).where(
        RollcallFrame.id == frame_id, office_scope(ctx.principal, Rollcall.office_id)))
    if frame is None:
        ctx.record("rollcall.frame.read", "rollcall_frame", frame_id, outcome="not_found")
        raise NotFound()
    return media.read(ctx.db, frame.media_id, purpose=FRAME_PURPOSE, ctx=ctx)


def decide(*, ctx: Ctx, rollcall_id: int, decision: str, reason: str) -> dict:
    """The officer confirms the recorded outcome or overturns it, with a reason (audited)."""
    require_role(ctx.principal, OFFICERS, "decide roll-calls")
    row = _scoped(ctx, rollcall_id, for_update=True)
    if row.state != "done":
        raise Conflict(f"the roll-call is {row.state}: decide once it is done")
    if row.decision is not None:
        raise Conflict(f"already decided ({row.decision})")
    row.decision, row.decision_reason = decision, reason
    row.decided_by, row.decided_at = ctx.principal.user_id, ctx.clock.now()
    ctx.db.flush()
    ctx.record("rollcall.decide", "rollcall", row.id, detail={
        "supervisee_id": row.supervisee_id, "outcome": row.outcome, "distance": row.distance,
        "decision": decision, "reason": reason})
    return rollcall_out(row, now=ctx.clock.now(), staff=True)


def cancel(*, ctx: Ctx, rollcall_id: int, reason: str) -> dict:
    """Withdraw a waiting roll-call (the officer called it off): no more grabs, no outcome."""
    require_role(ctx.principal, OFFICERS, "cancel roll-calls")
    row = _scoped(ctx, rollcall_id, for_update=True)
    if row.state != "waiting":
        raise Conflict(f"the roll-call is {row.state}")
    now = ctx.clock.now()
    row.state, row.finished_at, row.decision_reason = "cancelled", now, reason
    ctx.db.flush()
    ctx.record("rollcall.cancel", "rollcall", row.id, detail={"supervisee_id": row.supervisee_id, "reason": reason})
    return rollcall_out(row, now=now, staff=True)
