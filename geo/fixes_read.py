"""Reading a supervisee's stored fixes (their "track" in the API): scoped, bounded, audited on every read.

(Not geo/ingest/folds.py, which holds the fold state of ingest.)

A track is the most sensitive thing the system holds (where a person was,
minute by minute), so each read writes an audit row in the same transaction
as the query: if the row cannot be written the read fails (core.audit). The
answer carries fixes only, never fence geometry: a fence (a victim's home in
an exclusion zone) is not for every reader of a track.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import select

from core.basis import record_location_read
from core.context import Ctx
from core.errors import Forbidden, Invalid, NotFound
from geo.ingest.models import Fix
from supervision.models import Role, Supervisee
from supervision.scope import STAFF_READERS, supervisee_clause

DEFAULT_WINDOW = timedelta(hours=24)
MAX_LIMIT = 5000  # a day at one fix every 20 s; more is paged with ``since``
TRACK_READERS = STAFF_READERS | {Role.supervisee}


class TrackFixOut(BaseModel):
    id: int
    t: datetime
    lon: float  # WGS-84
    lat: float
    accuracy_m: float | None
    flags: list[str]
    excluded: bool
    purpose: str  # the legal basis it is held under: order:<id> or 信息化核查


class TrackOut(BaseModel):
    supervisee_id: int
    since: datetime
    until: datetime
    datum: str = "wgs84"
    count: int
    # More fixes in the window than ``limit``: ask again with since = last t
    # (inclusive, so drop fixes already seen by id).
    more: bool
    fixes: list[TrackFixOut]


# Times a track can have: 0001-01-01 or 9999-12-31 with an offset does not
# exist in UTC, and "until - 24 h" must exist too (they answered 500/503).
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def _window(ctx: Ctx, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    for name, value in (("since", since), ("until", until)):
        # A naive time would be read in the server's zone: 8 hours off in Beijing.
        if value is not None and value.utcoffset() is None:
            raise Invalid(f"{name} needs a time zone offset (e.g. +08:00 or Z)", field=f"query.{name}")
        if value is not None and not _representable(value):
            raise Invalid(f"{name} must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}",
                          field=f"query.{name}")
    until = until or ctx.clock.now()
    since = since or until - DEFAULT_WINDOW
    if since >= until:
        raise Invalid("since must be before until", field="query.since")
    return since, until


def _representable(value: datetime) -> bool:
    try:
        return EARLIEST <= value.astimezone(UTC) <= LATEST
    except OverflowError:
        return False


def read_track(*, ctx: Ctx, supervisee_id: int, since: datetime | None, until: datetime | None,
               limit: int) -> TrackOut:
    """Fixes of one supervisee in [since, until), oldest first, at most ``limit``."""
    principal = ctx.principal
    if principal.role not in TRACK_READERS:
        # Admins manage accounts and hold no location data; the refusal is audited too.
        ctx.record("track.read", "supervisee", supervisee_id, outcome="forbidden")
        raise Forbidden(f"role {principal.role} may not read tracks")
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}", field="query.limit")
    since, until = _window(ctx, since, until)
    visible = ctx.db.scalar(select(Supervisee.id).where(Supervisee.id == supervisee_id, supervisee_clause(principal)))
    if visible is None:
        # Out of scope answers like "absent" but is recorded as the refusal it is.
        ctx.record("track.read", "supervisee", supervisee_id, outcome="not_found",
                   detail={"since": since, "until": until})
        raise NotFound()
    rows = ctx.db.execute(
        select(Fix.id, Fix.t, Fix.lon, Fix.lat, Fix.accuracy_m, Fix.flags, Fix.excluded, Fix.purpose)
        .where(Fix.supervisee_id == supervisee_id, Fix.t >= since, Fix.t < until)
        .order_by(Fix.t, Fix.id)
        .limit(limit + 1)
    ).mappings().all()  # mappings: Row.t is SQLAlchemy's own "as tuple" accessor
    more = len(rows) > limit
    fixes = [TrackFixOut(**{**r, "flags": list(r["flags"] or [])}) for r in rows[:limit]]
    record_location_read(ctx, "track.read", "supervisee", supervisee_id, purposes=(f.purpose for f in fixes),
                         detail={"since": since, "until": until, "count": len(fixes)})
    return TrackOut(supervisee_id=supervisee_id, since=since, until=until, count=len(fixes), more=more, fixes=fixes)
