"""Submitting a check-in: nonce, window, location (judged and stored by ingest), photos, outcome.

The cheap checks come first: window, refused attempts, nonce, accuracy; only
then are the photos read, decoded and stored (they are handed in unread, as a
``PhotoSource``), so a late, replayed or inaccurate submission costs no
decoding. Refused submissions are counted per occurrence from the audit trail
(a refusal keeps its audit row): after ``checkin_max_refused_submissions`` the
occurrence takes no more submissions and is judged missed when it closes, so
an officer reviews it (the nonce a refusal rolls back cannot be replayed
without end).

All of it runs in the caller's one unit of work: a refusal (replayed nonce,
late, accuracy worse than the limit, a photo refused) rolls everything back,
the fix and the photos included, and keeps only the refusal's audit row.

The location goes through the ingest pipeline itself (geo.ingest.pipeline)
as a fix with protocol "check-in", so it is converted, flagged and judged by
the same rule as every fix and stored with them (one fix per occurrence:
its dedup key is the occurrence). 人机分离: the phone's own trusted fix nearest
in time (within ``checkin_separation_minutes``) farther than
``checkin_separation_m`` beyond both accuracy radii raises an integrity alert.
Nothing is sanctioned here: anything but a clean pass is a ledger entry in
the officers' review queue.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from alerts.facts import Evidence, PhoneApart, Subject
from alerts.intake import apply_facts
from checkins.challenge import redeem_nonce, require_open
from checkins.face_check import FaceResult, Photos, evaluate
from checkins.models import CheckinLedgerEntry, CheckinOccurrence, CheckinSubmission, LedgerKind, OccurrenceState
from core.audit import AuditEntry
from core.context import Ctx
from core.errors import Conflict, Invalid
from geo.datum import DatumName
from geo.engine.persistence import Compliance
from geo.fences.cache import FenceCache
from geo.ingest.checks import haversine_m
from geo.ingest.devices import DeviceIdentity
from geo.ingest.fix import DecodedFix
from geo.ingest.pipeline import IngestContext, ingest
from supervision.models import Supervisee

PROTOCOL = "check-in"
SUBMIT_ACTIONS = ("checkin.submit", "checkin.submit_photos", "checkin.device_submit")  # the submit routes' names
PhotoSource = Callable[[], Photos]  # reads the uploaded photos, only once the cheap checks have passed


@dataclass(frozen=True)
class LocationIn:
    lon: float
    lat: float
    accuracy_m: float
    datum: DatumName


def store_location(ctx: Ctx, sup: Supervisee, occ: CheckinOccurrence, loc: LocationIn, now: datetime,
                   fences: FenceCache) -> tuple[int, str, list[int]]:
    """Run the location through ingest; (fix id, compliance summary, alert ids ingest raised)."""
    key = f"checkin:{occ.id}"
    fix = DecodedFix(client_fix_id=key, time=now, lat=loc.lat, lon=loc.lon, datum=loc.datum,
                     accuracy_m=loc.accuracy_m, raw={"lon": loc.lon, "lat": loc.lat, "accuracy_m": loc.accuracy_m,
                                                     "datum": loc.datum, "occurrence_id": occ.id},
                     protocol=PROTOCOL)
    device = DeviceIdentity(None, sup.id, sup.office_id, sup.tier, PROTOCOL, sup.status)
    result = ingest([fix], IngestContext(db=ctx.db, now=now, settings=ctx.settings, device=device, fences=fences))
    fix_id, flags, decisions = ctx.db.execute(text(
        "SELECT id, flags, decisions FROM fixes WHERE supervisee_id = :s AND device_id IS NULL AND dedup_key = :k"),
        {"s": sup.id, "k": key}).one()
    return fix_id, _summary(flags, decisions), result.alerts


def require_accuracy(ctx: Ctx, loc: LocationIn) -> None:
    limit = ctx.settings.checkins.checkin_max_accuracy_m
    if loc.accuracy_m > limit:
        raise Invalid(f"location accuracy {loc.accuracy_m:g} m is worse than the limit of {limit:g} m:"
                      " wait for a better fix and submit again", field="accuracy_m")


def require_attempts_left(ctx: Ctx, occ: CheckinOccurrence) -> None:
    """Refuse once this occurrence has had too many refused submissions (counted in the audit trail)."""
    limit = ctx.settings.checkins.checkin_max_refused_submissions
    refused = ctx.db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.object_type == "occurrence", AuditEntry.object_id == str(occ.id),
        AuditEntry.action.in_(SUBMIT_ACTIONS), AuditEntry.outcome == "refused")) or 0
    if refused >= limit:
        raise Conflict(f"{refused} refused attempts: this check-in takes no more submissions and goes to"
                       " your officer for review")


def _summary(flags: list[str], decisions: list[list[int]]) -> str:
    if flags:
        return "flagged"
    statuses = {d[3] for d in decisions} - {Compliance.NOT_APPLICABLE}
    for status, name in ((Compliance.VIOLATING, "violating"), (Compliance.UNCERTAIN, "uncertain"),
                         (Compliance.COMPLIANT, "compliant")):
        if status in statuses:
            return name
    return "no_fence"


def phone_apart(ctx: Ctx, sup: Supervisee, fix_id: int, now: datetime) -> tuple[float, Evidence, Evidence] | None:
    """The phone's own trusted fix nearest to ``now``, if it is too far from the check-in fix."""
    cfg = ctx.settings.checkins
    window = timedelta(minutes=cfg.checkin_separation_minutes)
    rows = ctx.db.execute(text(
        "SELECT id, t, lon, lat, accuracy_m, datum, raw FROM fixes WHERE id = :f UNION ALL"
        " (SELECT id, t, lon, lat, accuracy_m, datum, raw FROM fixes WHERE supervisee_id = :s AND device_id IS NOT NULL"
        "  AND NOT excluded AND t BETWEEN :a AND :b ORDER BY abs(extract(epoch FROM t - :now)) LIMIT 1)"),
        {"f": fix_id, "s": sup.id, "a": now - window, "b": now + window, "now": now}).mappings().all()
    if len(rows) < 2:
        return None
    mine, phone = rows
    distance = haversine_m(mine["lat"], mine["lon"], phone["lat"], phone["lon"])
    if distance - (mine["accuracy_m"] or 0) - (phone["accuracy_m"] or 0) <= cfg.checkin_separation_m:
        return None
    ev = [Evidence(fix_id=f["id"], t=f["t"], lon=f["lon"], lat=f["lat"], accuracy_m=f["accuracy_m"], datum=f["datum"],
                   raw=f["raw"], detail={"role": role}) for f, role in ((mine, "check-in"), (phone, "phone"))]
    return distance, ev[0], ev[1]


def submit(ctx: Ctx, *, sup: Supervisee, occ: CheckinOccurrence, nonce: str, location: LocationIn,
           fences: FenceCache, via: str, photos: PhotoSource | None = None) -> CheckinSubmission:
    """Accept one check-in for an open occurrence (its row is locked by the caller)."""
    now = ctx.clock.now()
    require_open(occ, now)
    require_attempts_left(ctx, occ)
    challenge = redeem_nonce(ctx, occ, nonce)
    require_accuracy(ctx, location)
    face = None
    if occ.requires_face:
        if photos is None:
            raise Invalid("this check-in needs the two photos (neutral and challenge): submit them as multipart",
                          field="neutral")
        face = evaluate(ctx, sup=sup, occ=occ, challenge=challenge.challenge, photos=photos())
    fix_id, summary, ingest_alerts = store_location(ctx, sup, occ, location, now, fences)
    apart = phone_apart(ctx, sup, fix_id, now)
    row = CheckinSubmission(
        occurrence_id=occ.id, supervisee_id=sup.id, office_id=occ.office_id, via=via, submitted_at=now, fix_id=fix_id,
        lon=location.lon, lat=location.lat, accuracy_m=location.accuracy_m, datum=location.datum, location=summary,
        challenge=challenge.challenge, separation_m=round(apart[0], 1) if apart else None, detail={},
        face=face.face if face else None, face_distance=face.distance if face else None,
        liveness=face.liveness if face else None, neutral_media_id=face.neutral_media_id if face else None,
        challenge_media_id=face.challenge_media_id if face else None, outcome="passed")
    problems = review_reasons(summary, face, apart is not None)
    if problems:
        row.outcome = "review"
    ctx.db.add(row)
    occ.state = OccurrenceState.submitted
    occ.judged_at = now
    ctx.db.flush()
    alerts = list(ingest_alerts)
    if apart is not None:
        distance, mine, phone = apart
        subject = Subject(sup.id, sup.office_id, sup.tier)
        [touched] = apply_facts(ctx.db, subject, [PhoneApart(row.id, distance, mine, phone)], now=now,
                                cfg=ctx.settings.alerts)
        alerts += touched
    if problems:
        ctx.db.add(CheckinLedgerEntry(occurrence_id=occ.id, submission_id=row.id, supervisee_id=sup.id,
                                      office_id=occ.office_id, kind=LedgerKind.failed, outcome="; ".join(problems)[:64],
                                      consecutive=0, created_at=now))
    row.detail = {"review": problems, "alerts": sorted(set(alerts))}
    ctx.db.flush()
    ctx.record("checkin.submit", "checkin", occ.id, detail={
        "supervisee_id": sup.id, "submission_id": row.id, "via": via, "location": summary, "outcome": row.outcome,
        "face": row.face, "liveness": row.liveness, "review": problems})
    return row


def review_reasons(location: str, face: FaceResult | None, apart: bool) -> list[str]:
    """Why a submission needs an officer (empty: a clean pass)."""
    out = []
    if location in ("violating", "flagged"):
        out.append(f"location {location}")
    if apart:
        out.append("phone apart")
    if face is not None and face.face != "match":
        out.append(f"face {face.face}")
    if face is not None and face.liveness != "passed":
        out.append(f"liveness: {face.liveness}")
    return out
