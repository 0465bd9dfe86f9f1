"""Check-in services for the REST routes: the supervisee's plan, due check-ins, challenge,
submit and history; the officer's spot checks and a supervisee's history (audited).

Scoped like everything else: a supervisee sees only their own occurrences;
staff see those of supervisees in their jurisdiction; anything else answers
404 exactly like an id that does not exist.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from checkins import challenge as challenges
from checkins.models import CheckinOccurrence, CheckinPlan, CheckinSubmission, OccurrenceState
from checkins.plans import SlotKind
from checkins.policy import effective_policy
from checkins.submit import LocationIn, PhotoSource, submit
from core.basis import ORDINARY, record_location_read
from core.context import Ctx
from core.errors import Conflict, Forbidden, NotFound
from core.schemas import Page
from geo.fences.cache import FenceCache
from geo.ingest.devices import DeviceIdentity
from supervision.models import Role, Supervisee
from supervision.scope import require_role
from supervision.supervisees import get_scoped

OFFICERS = {Role.officer, Role.manager}


def occurrence_out(o: CheckinOccurrence) -> dict:
    return {"id": o.id, "kind": o.kind, "requires_face": o.requires_face, "opens_at": o.opens_at,
            "closes_at": o.closes_at, "state": o.state, "issued_by_officer": o.issued_by is not None}


def _me(ctx: Ctx) -> Supervisee:
    require_role(ctx.principal, {Role.supervisee}, "check in")
    return get_scoped(ctx, ctx.principal.supervisee_id)


def my_plan(*, ctx: Ctx) -> dict:
    """The plan in force and what is open or coming. Spot checks are not shown before they open."""
    sup = _me(ctx)
    now = ctx.clock.now()
    plan = ctx.db.scalar(select(CheckinPlan).where(CheckinPlan.supervisee_id == sup.id, CheckinPlan.valid_to.is_(None)))
    rows = ctx.db.scalars(select(CheckinOccurrence).where(
        CheckinOccurrence.supervisee_id == sup.id, CheckinOccurrence.closes_at > now,
        CheckinOccurrence.state.in_([OccurrenceState.scheduled, OccurrenceState.due]),
        (CheckinOccurrence.kind != SlotKind.spot) | (CheckinOccurrence.opens_at <= now))
        .order_by(CheckinOccurrence.opens_at).limit(100))
    ctx.record("checkin.plan.read", "supervisee", sup.id)
    return {"plan": None if plan is None else {"kind": plan.kind, "tier": plan.tier, "valid_from": plan.valid_from,
                                               "rule": {k: v for k, v in plan.rule.items() if k != "spot_per_week"}},
            "occurrences": [occurrence_out(o) for o in rows]}


def due_now(*, ctx: Ctx) -> list[dict]:
    sup = _me(ctx)
    now = ctx.clock.now()
    rows = ctx.db.scalars(select(CheckinOccurrence).where(
        CheckinOccurrence.supervisee_id == sup.id, CheckinOccurrence.opens_at <= now,
        CheckinOccurrence.closes_at > now,
        CheckinOccurrence.state.in_([OccurrenceState.scheduled, OccurrenceState.due]))
        .order_by(CheckinOccurrence.closes_at))
    return [occurrence_out(o) for o in rows]


def fetch_challenge(*, ctx: Ctx, occurrence_id: int) -> dict:
    sup = _me(ctx)
    occ = challenges.own_occurrence(ctx, sup.id, occurrence_id, "checkin.challenge")
    return challenges.issue_challenge(ctx, occ)


def submit_checkin(*, ctx: Ctx, occurrence_id: int, nonce: str, location: LocationIn, fences: FenceCache,
                   photos: PhotoSource | None) -> dict:
    sup = _me(ctx)
    occ = challenges.own_occurrence(ctx, sup.id, occurrence_id, "checkin.submit")
    return submission_out(submit(ctx, sup=sup, occ=occ, nonce=nonce, location=location, fences=fences,
                                 via="account", photos=photos))


def _device_occurrence(ctx: Ctx, device: DeviceIdentity, occurrence_id: int, action: str) -> CheckinOccurrence:
    occ = challenges.own_occurrence(ctx, device.supervisee_id, occurrence_id, action)
    if occ.requires_face:
        # A phone's credential proves the phone, not the person: face check-ins need the account.
        raise Forbidden("this check-in needs a face: submit it from the supervisee's account")
    return occ


def device_challenge(*, ctx: Ctx, device: DeviceIdentity, occurrence_id: int) -> dict:
    return challenges.issue_challenge(ctx, _device_occurrence(ctx, device, occurrence_id, "checkin.challenge"))


def device_submit(*, ctx: Ctx, device: DeviceIdentity, occurrence_id: int, nonce: str, location: LocationIn,
                  fences: FenceCache) -> dict:
    occ = _device_occurrence(ctx, device, occurrence_id, "checkin.submit")
    sup = ctx.db.get(Supervisee, device.supervisee_id)
    return submission_out(submit(ctx, sup=sup, occ=occ, nonce=nonce, location=location, fences=fences,
                                 via="device"))


def submission_out(s: CheckinSubmission, *, staff: bool = False) -> dict:
    out = {"id": s.id, "occurrence_id": s.occurrence_id, "submitted_at": s.submitted_at, "via": s.via,
           "status": "received", "challenge": s.challenge}
    if staff:
        # The supervisee is told only that the check-in was received, never the judgement (not even
        # passed / review): one bit per check-in would let them probe where the exclusion zones are.
        out.update(outcome=s.outcome, location=s.location, face=s.face, face_distance=s.face_distance,
                   liveness=s.liveness,
                   separation_m=s.separation_m, lon=s.lon, lat=s.lat, accuracy_m=s.accuracy_m, datum=s.datum,
                   fix_id=s.fix_id, photos=[m for m in (s.neutral_media_id, s.challenge_media_id) if m],
                   review=(s.detail or {}).get("review", []))
    return out


def history(*, ctx: Ctx, supervisee_id: int | None, limit: int, offset: int) -> Page[dict]:
    """Past occurrences with their submissions, newest first. Staff reads are audited (photos, location)."""
    p = ctx.principal
    if p.role == Role.supervisee:
        if supervisee_id not in (None, p.supervisee_id):
            raise NotFound()
        sup, staff = _me(ctx), False
    else:
        require_role(p, {Role.officer, Role.manager, Role.auditor}, "read check-in history")
        if supervisee_id is None:
            raise NotFound()
        sup, staff = get_scoped(ctx, supervisee_id), True
    now = ctx.clock.now()
    where = [CheckinOccurrence.supervisee_id == sup.id, CheckinOccurrence.opens_at <= now]
    total = ctx.db.scalar(select(func.count()).select_from(CheckinOccurrence).where(*where)) or 0
    rows = ctx.db.execute(select(CheckinOccurrence, CheckinSubmission)
                          .outerjoin(CheckinSubmission, CheckinSubmission.occurrence_id == CheckinOccurrence.id)
                          .where(*where).order_by(CheckinOccurrence.opens_at.desc(), CheckinOccurrence.id.desc())
                          .limit(limit).offset(offset)).all()
    items = [{**occurrence_out(o), "submission": submission_out(s, staff=staff) if s else None} for o, s in rows]
    # A check-in's place is taken under the ordinary check (its fix is stored as 信息化核查).
    located = [s for _, s in rows if s is not None and s.lon is not None]
    record_location_read(ctx, "checkin.history.read", "supervisee", sup.id,
                         purposes=[ORDINARY] if staff and located else [], detail={
        "purpose": "supervision", "submissions": [i["submission"]["id"] for i in items if i["submission"]]})
    return Page(items=items, total=total, limit=limit, offset=offset)


def issue_spot_check(*, ctx: Ctx, supervisee_id: int, minutes: int | None, requires_face: bool) -> dict:
    """An officer's 随机点名: open now, answered within ``minutes`` (default: the policy's answer window)."""
    require_role(ctx.principal, OFFICERS, "issue spot checks")
    sup = get_scoped(ctx, supervisee_id)
    if sup.status != "active":
        raise Conflict(f"supervision is {sup.status}")
    now = ctx.clock.now()
    minutes = minutes or effective_policy(ctx.db, sup.office_id, ctx.settings.checkins).spot_answer_minutes
    occ = CheckinOccurrence(plan_id=None, key=f"officer:{uuid.uuid4().hex}", supervisee_id=sup.id,
                            office_id=sup.office_id, kind=SlotKind.spot, requires_face=requires_face, opens_at=now,
                            closes_at=now + timedelta(minutes=minutes), state=OccurrenceState.due, due_at=now,
                            issued_by=ctx.principal.user_id, created_at=now)
    ctx.db.add(occ)
    ctx.db.flush()
    ctx.record("checkin.spot_check", "checkin", occ.id, detail={"supervisee_id": sup.id, "minutes": minutes,
                                                                "requires_face": requires_face})
    return occurrence_out(occ)
