"""Supervisee records: read and write, scoped and audited."""
from __future__ import annotations

from datetime import date

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import func, select

from core.context import Ctx
from core.errors import Invalid, NotFound
from core.security import keyed_hash
from geo.datum import to_wgs84
from supervision import registrations
from supervision.models import Jurisdiction, JurisdictionLevel, Role, Supervisee, SuperviseeStatus, Tier, User
from core.schemas import Page
from supervision.schemas import PointIn, PointOut, RegistrationPending, SuperviseeIn, SuperviseeOut, SuperviseeUpdate
from supervision.scope import SUPERVISEE_WRITERS, require_role, subtree_ids, supervisee_clause


def to_out(row: Supervisee) -> SuperviseeOut:
    point = to_shape(row.residence) if row.residence is not None else None
    return SuperviseeOut(
        id=row.id, name=row.name, id_last4=row.id_last4, sentence_type=row.sentence_type,
        term_start=row.term_start, term_end=row.term_end, tier=row.tier, office_id=row.office_id,
        officer_id=row.officer_id, residence=PointOut(lon=point.x, lat=point.y) if point else None,
        residence_address=row.residence_address, permitted_area_codes=list(row.permitted_area_codes or []),
        status=row.status,
    )


def point_to_wkb(point: PointIn):
    lon, lat = to_wgs84(point.lon, point.lat, point.datum)
    return from_shape(Point(float(lon), float(lat)), srid=4326)


def get_scoped(ctx: Ctx, supervisee_id: int) -> Supervisee:
    require_role(ctx.principal, {Role.officer, Role.manager, Role.auditor, Role.supervisee}, "read supervisee records")
    row = ctx.db.scalar(select(Supervisee).where(Supervisee.id == supervisee_id, supervisee_clause(ctx.principal)))
    if row is None:
        # Out of scope is recorded as a refusal but answered like "absent".
        ctx.record("supervisee.read", "supervisee", supervisee_id, outcome="not_found")
        raise NotFound()
    return row


def list_supervisees(*, ctx: Ctx, limit: int, offset: int, office_id: int | None = None,
                     status: SuperviseeStatus | None = None) -> Page[SuperviseeOut]:
    require_role(ctx.principal, {Role.officer, Role.manager, Role.auditor, Role.supervisee}, "read supervisee records")
    where = [supervisee_clause(ctx.principal)]
    if office_id is not None:
        where.append(Supervisee.office_id == office_id)
    if status is not None:
        where.append(Supervisee.status == status)
    total = ctx.db.scalar(select(func.count()).select_from(Supervisee).where(*where)) or 0
    rows = list(ctx.db.scalars(select(Supervisee).where(*where).order_by(Supervisee.id).limit(limit).offset(offset)))
    ctx.record("supervisee.list", "supervisee", None, detail={"ids": [r.id for r in rows], "offset": offset})
    return Page(items=[to_out(r) for r in rows], total=total, limit=limit, offset=offset)


def get_supervisee(*, ctx: Ctx, supervisee_id: int) -> SuperviseeOut:
    row = get_scoped(ctx, supervisee_id)
    ctx.record("supervisee.read", "supervisee", row.id)
    return to_out(row)


def _check_office(ctx: Ctx, office_id: int) -> None:
    office = ctx.db.scalar(select(Jurisdiction).where(Jurisdiction.id == office_id, Jurisdiction.id.in_(subtree_ids(ctx.principal))))
    if office is None or office.level != JurisdictionLevel.office:
        raise Invalid("office_id must name a justice office in your jurisdiction", field="office_id")


def _check_officer(ctx: Ctx, officer_id: int, office_id: int) -> None:
    officer = ctx.db.get(User, officer_id)
    if officer is None or officer.role != Role.officer or officer.jurisdiction_id != office_id:
        raise Invalid("officer_id must name an officer of the supervisee's office", field="officer_id")


def check_placement(ctx: Ctx, office_id: int, officer_id: int | None) -> None:
    """The office is in the caller's jurisdiction, and the officer (if any) is one of its officers."""
    _check_office(ctx, office_id)
    if officer_id is not None:
        _check_officer(ctx, officer_id, office_id)


def create_supervisee(*, ctx: Ctx, data: SuperviseeIn) -> SuperviseeOut | RegistrationPending:
    """Register a supervisee, or send the registration to bureau review (supervision/registrations.py)."""
    require_role(ctx.principal, SUPERVISEE_WRITERS, "create supervisee records")
    check_placement(ctx, data.office_id, data.officer_id)
    id_hash = keyed_hash(ctx.settings.auth.id_hash_key, data.national_id)
    pending = registrations.hold_for_review(ctx, data, id_hash=id_hash)
    if pending is not None:
        return pending
    fields = data.model_dump(exclude={"national_id"})
    return to_out(add_supervisee(ctx, fields, id_hash=id_hash, id_last4=data.national_id[-4:]))


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)  # held registrations are JSON


def add_supervisee(ctx: Ctx, fields: dict, *, id_hash: str, id_last4: str, detail: dict | None = None) -> Supervisee:
    """Write a checked registration as a supervisee record (directly, or when the bureau accepts it)."""
    residence = fields.get("residence")
    row = Supervisee(
        name=fields["name"], id_hash=id_hash, id_last4=id_last4, sentence_type=fields["sentence_type"],
        term_start=_day(fields["term_start"]), term_end=_day(fields["term_end"]), tier=fields.get("tier") or Tier.strict,
        office_id=fields["office_id"], officer_id=fields.get("officer_id"),
        residence=point_to_wkb(PointIn(**residence)) if residence else None,
        residence_address=fields.get("residence_address"), permitted_area_codes=fields.get("permitted_area_codes") or [],
        status=SuperviseeStatus.active,
    )
    ctx.db.add(row)
    ctx.db.flush()
    ctx.db.refresh(row)
    ctx.record("supervisee.create", "supervisee", row.id, detail={"office_id": row.office_id, **(detail or {})})
    return row


def update_supervisee(*, ctx: Ctx, supervisee_id: int, data: SuperviseeUpdate) -> SuperviseeOut:
    require_role(ctx.principal, SUPERVISEE_WRITERS, "change supervisee records")
    row = get_scoped(ctx, supervisee_id)
    changes = data.model_dump(exclude_unset=True)
    if "office_id" in changes:
        _check_office(ctx, changes["office_id"])
    if changes.get("officer_id") is not None:
        _check_officer(ctx, changes["officer_id"], changes.get("office_id", row.office_id))
    term_end = changes.get("term_end", row.term_end)
    if term_end < row.term_start:
        raise Invalid("term_end must not be before term_start", field="term_end")
    for name, value in changes.items():
        if name == "residence":
            row.residence = point_to_wkb(data.residence) if data.residence else None
        else:
            setattr(row, name, value)
    ctx.db.flush()
    ctx.db.refresh(row)
    ctx.record("supervisee.update", "supervisee", row.id, detail={"fields": sorted(changes)})
    return to_out(row)
