"""Last known positions of the supervisees in the caller's jurisdiction (the officer's map).

One row per supervisee with at least one fix: their newest fix not excluded as
suspicious. Scoped like every other read (supervision.scope) and audited: a map
of where everyone in an office is right now is as sensitive as their tracks.
No fence geometry here; the map asks for fences per supervisee (geo.fences.service).
"""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select, true

from core.basis import record_location_read
from core.context import Ctx
from core.errors import Forbidden
from geo.ingest.models import Fix
from supervision.models import Supervisee
from supervision.scope import STAFF_READERS, supervisee_clause

MAX_POSITIONS = 20_000  # a large district; the map clusters them


class PositionOut(BaseModel):
    supervisee_id: int
    name: str
    office_id: int
    tier: str
    t: datetime
    lon: float  # WGS-84
    lat: float
    accuracy_m: float | None


class PositionsOut(BaseModel):
    datum: str = "wgs84"
    count: int
    positions: list[PositionOut]


def last_positions(*, ctx: Ctx, office_id: int | None = None) -> PositionsOut:
    """The newest usable fix of every supervisee in scope (optionally of one office below it)."""
    if ctx.principal.role not in STAFF_READERS:
        ctx.record("positions.read", "jurisdiction", office_id, outcome="forbidden")
        raise Forbidden(f"role {ctx.principal.role} may not read positions")
    # LATERAL + LIMIT 1 walks the (supervisee_id, t) index backwards once per person.
    newest = (select(Fix.t, Fix.lon, Fix.lat, Fix.accuracy_m, Fix.purpose)
              .where(Fix.supervisee_id == Supervisee.id, Fix.excluded.is_(False))
              .order_by(Fix.t.desc()).limit(1).lateral("newest"))
    query = (select(Supervisee.id, Supervisee.name, Supervisee.office_id, Supervisee.tier,
                    newest.c.t, newest.c.lon, newest.c.lat, newest.c.accuracy_m, newest.c.purpose)
             .join(newest, true())
             .where(supervisee_clause(ctx.principal), Supervisee.status == "active")
             .order_by(Supervisee.id).limit(MAX_POSITIONS))
    if office_id is not None:
        query = query.where(Supervisee.office_id == office_id)
    rows = ctx.db.execute(query).all()
    positions = [PositionOut(supervisee_id=r[0], name=r[1], office_id=r[2], tier=str(r[3]), t=r[4], lon=r[5],
                             lat=r[6], accuracy_m=r[7]) for r in rows]
    record_location_read(ctx, "positions.read", "jurisdiction", office_id, purposes=(r[8] for r in rows),
                         detail={"count": len(positions)})
    return PositionsOut(count=len(positions), positions=positions)
