"""Fetching a due check-in: a one-time server nonce and a random challenge.

The nonce is 256 random bits, returned once in the answer body and stored
only as its SHA-256; it is good for one submission of that occurrence until
the window closes. Fetching again issues a new nonce and retires the old one,
so a collected nonce (or a favourable challenge) cannot be saved for later.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update

from checkins.models import CheckinChallenge, CheckinOccurrence, OccurrenceState
from core.context import Ctx
from core.errors import Conflict, NotFound
from video import face

# The head poses the liveness check can tell from YuNet's five landmarks.
CHALLENGES = tuple(face.CHALLENGES)
LOCATION_ONLY = "none"


def nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def own_occurrence(ctx: Ctx, supervisee_id: int, occurrence_id: int, action: str) -> CheckinOccurrence:
    """The caller's own occurrence, locked; anyone else's answers 404 like a missing one."""
    occ = ctx.db.scalar(select(CheckinOccurrence).where(
        CheckinOccurrence.id == occurrence_id, CheckinOccurrence.supervisee_id == supervisee_id)
        .with_for_update())
    if occ is None:
        ctx.record(action, "checkin", occurrence_id, outcome="not_found")
        raise NotFound()
    return occ


def require_open(occ: CheckinOccurrence, now: datetime) -> None:
    """Refuse unless the window is open now (the reason says which way it is not)."""
    if occ.state == OccurrenceState.submitted:
        raise Conflict("this check-in was already submitted")
    if now >= occ.closes_at or occ.state in (OccurrenceState.missed, OccurrenceState.missed_outage):
        raise Conflict(f"late: the window closed at {occ.closes_at.isoformat()}")
    if now < occ.opens_at or occ.state == OccurrenceState.cancelled:
        raise Conflict(f"not open: the window opens at {occ.opens_at.isoformat()}"
                       if occ.state != OccurrenceState.cancelled else "this check-in was cancelled (re-planned)")


def issue_challenge(ctx: Ctx, occ: CheckinOccurrence) -> dict:
    """A fresh nonce (and a challenge if a face is required) for an open occurrence."""
    now = ctx.clock.now()
    require_open(occ, now)
    if occ.state == OccurrenceState.scheduled:  # open, and the scheduler has not got to it yet
        occ.state, occ.due_at = OccurrenceState.due, now
    ctx.db.execute(update(CheckinChallenge).where(CheckinChallenge.occurrence_id == occ.id,
                                                  CheckinChallenge.used_at.is_(None),
                                                  CheckinChallenge.expires_at > now).values(expires_at=now))
    nonce = secrets.token_urlsafe(32)
    challenge = secrets.choice(CHALLENGES) if occ.requires_face else LOCATION_ONLY
    ctx.db.add(CheckinChallenge(occurrence_id=occ.id, nonce_hash=nonce_hash(nonce), challenge=challenge,
                                issued_at=now, expires_at=occ.closes_at))
    ctx.db.flush()
    ctx.record("checkin.challenge", "checkin", occ.id, detail={"supervisee_id": occ.supervisee_id,
                                                               "challenge": challenge})
    prompt = face.CHALLENGES[challenge].prompt if challenge in face.CHALLENGES else None
    return {"occurrence_id": occ.id, "nonce": nonce, "challenge": challenge, "prompt": prompt,
            "requires_face": occ.requires_face, "closes_at": occ.closes_at}


def redeem_nonce(ctx: Ctx, occ: CheckinOccurrence, nonce: str) -> CheckinChallenge:
    """Use the nonce once. A replay, a retired or another occurrence's nonce is refused (409)."""
    now = ctx.clock.now()
    row = ctx.db.scalar(select(CheckinChallenge).where(CheckinChallenge.nonce_hash == nonce_hash(nonce))
                        .with_for_update())
    if row is None or row.occurrence_id != occ.id:
        raise Conflict("unknown nonce: fetch the check-in again", field="nonce")
    if row.used_at is not None:
        raise Conflict("nonce already used (replay refused)", field="nonce")
    if now >= row.expires_at:
        raise Conflict("nonce expired or replaced by a newer one: fetch the check-in again", field="nonce")
    row.used_at = now
    return row
