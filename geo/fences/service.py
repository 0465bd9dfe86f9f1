"""Geofences of a supervisee: create, list, read, version and retire, scoped and audited.

A fence is an identity (kind, label, owner); its geometry and rules live in
versions valid in ``[valid_from, valid_to)``.  An edit closes the current
version at the new one's ``valid_from`` and inserts the next, so every
decision can name the version in force at the fix's time.  Fences are not
retroactive: a new fence or version may not start in the past (beyond a
small clock-skew allowance), because fixes already judged would silently
change meaning.

Exclusion zones are always ``sensitive`` and are *omitted entirely* for a
supervisee caller: absent from their list, 404 on get -- not even "a zone
exists", since its mere existence and label can point at a victim.

Rows are written by geo.fences.writer (the one writer, shared with leave/
and the permitted-area sync); this module adds who may, what is valid, and
the audit row. Services flush, never commit; the route owns the transaction.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import Select, func, select

from core.context import Ctx
from core.errors import Conflict, Invalid, NotFound
from geo.engine import FenceKind
from geo.fences import writer
from geo.fences.loading import fence_to_engine
from geo.fences.permitted_area import SOURCE as PERMITTED_SOURCE, codes_fence
from geo.fences.schemas import (
    CurfewWindowIn,
    FenceIn,
    FenceOut,
    FenceSummary,
    FenceVersionIn,
    FenceVersionOut,
    FenceVersionSummary,
    ShapeIn,
)
from geo.fences.shapes import parse_shape
from geo.geometry_input import ParsedGeometry
from geo.models import Fence, FenceVersion
from supervision.models import Role, Supervisee
from core.schemas import Page
from supervision.scope import SUPERVISEE_WRITERS, require_role, supervisee_clause
from supervision.supervisees import get_scoped

__all__ = ["create_fence", "get_fence", "list_fences", "new_version", "retire_fence"]

READERS = {Role.officer, Role.manager, Role.auditor, Role.supervisee}
# A request's "now" and a client's "now" differ a little; more than this is backdating.
PAST_TOLERANCE = timedelta(minutes=5)
_ADMIN_KINDS = {FenceKind.PERMITTED, FenceKind.LEAVE_DESTINATION}
_LABELS = {FenceKind.PERMITTED: "permitted area", FenceKind.EXCLUSION: "exclusion zone",
           FenceKind.CURFEW: "home curfew", FenceKind.LEAVE_DESTINATION: "leave destination"}


# --- scoping --------------------------------------------------------------------

def _visible(ctx: Ctx) -> Select[tuple[Fence]]:
    query = select(Fence).join(Supervisee, Supervisee.id == Fence.supervisee_id).where(supervisee_clause(ctx.principal))
    if ctx.principal.role == Role.supervisee:
        query = query.where(Fence.sensitive.is_(False), Fence.kind != FenceKind.EXCLUSION.value)
    return query


def _scoped_fence(ctx: Ctx, fence_id: int, action: str, *, lock: bool = False) -> Fence:
    query = _visible(ctx).where(Fence.id == fence_id)
    row = ctx.db.scalar(query.with_for_update(of=Fence) if lock else query)
    if row is None:
        ctx.record(action, "fence", fence_id, outcome="not_found")
        raise NotFound()
    return row


# --- input -> rows ---------------------------------------------------------------

def _shape(ctx: Ctx, kind: FenceKind, data: ShapeIn) -> tuple[ParsedGeometry, dict[str, Any]]:
    """Validate whichever shape the caller gave; the raw input is kept as evidence."""
    if data.admin_codes is not None and kind not in _ADMIN_KINDS:
        raise Invalid("admin_codes are only for permitted areas and leave destinations", field="admin_codes")
    return parse_shape(ctx.db, data)


def _curfew(kind: FenceKind, windows: list[CurfewWindowIn] | None) -> list[dict[str, Any]]:
    if kind is FenceKind.CURFEW and not windows:
        raise Invalid("a curfew fence needs at least one window", field="curfew")
    if kind is not FenceKind.CURFEW and windows:
        raise Invalid("curfew windows are only for kind 'curfew'", field="curfew")
    return [w.model_dump() for w in windows or []]


def _window(ctx: Ctx, kind: FenceKind, valid_from: datetime | None, valid_to: datetime | None,
            *, after: datetime | None = None) -> tuple[datetime, datetime | None]:
    now = ctx.clock.now()
    start = valid_from or now
    if start < now - PAST_TOLERANCE:
        raise Invalid("valid_from may not be in the past: fences are not retroactive", field="valid_from")
    if after is not None and start <= after:
        raise Invalid(f"valid_from must be after the current version's valid_from ({after.isoformat()})",
                      field="valid_from")
    if valid_to is not None and valid_to <= start:
        raise Invalid("valid_to must be after valid_from", field="valid_to")
    if kind is FenceKind.LEAVE_DESTINATION and valid_to is None:
        raise Invalid("a leave destination needs valid_to (the end of the leave)", field="valid_to")
    return start, valid_to


def _check_engine(version: FenceVersion, fence: Fence) -> None:
    """Belt and braces: whatever is stored must load into the engine."""
    try:
        fence_to_engine(version, fence)
    except ValueError as exc:
        raise Invalid(f"fence cannot be judged: {exc}") from None


# --- output ----------------------------------------------------------------------

def _version_out(v: FenceVersion) -> FenceVersionOut:
    raw = dict(v.raw or {})
    return FenceVersionOut(
        version=v.version, valid_from=v.valid_from, valid_to=v.valid_to, gen=v.gen, created_by=v.created_by,
        created_at=v.created_at, geometry=mapping(to_shape(v.geom)), radius_m=v.radius_m, datum=v.datum,
        admin_codes=raw.get("admin_codes"), curfew=list(v.curfew or []), min_fixes=v.min_fixes,
        min_seconds=v.min_seconds, raw=raw,
    )


def _summary(f: Fence, current: FenceVersion) -> FenceSummary:
    return FenceSummary(id=f.id, supervisee_id=f.supervisee_id, kind=f.kind, label=f.label, sensitive=f.sensitive,
                        current_version=f.current_version, valid_from=current.valid_from, valid_to=current.valid_to,
                        retired_at=f.retired_at, created_at=f.created_at)


def _fence_out(ctx: Ctx, fence: Fence) -> FenceOut:
    versions = list(ctx.db.scalars(select(FenceVersion).where(FenceVersion.fence_id == fence.id)
                                   .order_by(FenceVersion.version)))
    for v in versions:
        ctx.db.refresh(v)  # gen is stamped by a trigger on every write
    current = next(v for v in versions if v.version == fence.current_version)
    summary = _summary(fence, current).model_dump()
    return FenceOut(**summary, current=_version_out(current),
                    versions=[FenceVersionSummary.model_validate(v) for v in versions])


# --- service ---------------------------------------------------------------------

def _refuse_if_codes_own(fence: Fence) -> None:
    """The permitted fence made from ``permitted_area_codes`` changes only with the codes,
    so the record and the fence judged never disagree."""
    if dict(fence.source or {}).get("from") == PERMITTED_SOURCE["from"]:
        raise Conflict(f"this permitted area comes from the supervisee's permitted_area_codes: change them with "
                       f"PATCH /supervisees/{fence.supervisee_id} (an empty list means no permitted area)")


def create_fence(*, ctx: Ctx, supervisee_id: int, data: FenceIn, source: dict[str, Any] | None = None) -> FenceOut:
    """Create a fence (version 1) for a supervisee in the caller's scope."""
    require_role(ctx.principal, SUPERVISEE_WRITERS, "create fences")
    supervisee = get_scoped(ctx, supervisee_id)
    kind = FenceKind(data.kind)
    if kind is FenceKind.PERMITTED:
        # The same row lock as the codes' sync: a concurrent PATCH of the codes
        # and this POST cannot both see "no permitted fence" and make two.
        ctx.db.execute(select(Supervisee.id).where(Supervisee.id == supervisee.id).with_for_update())
        owned = codes_fence(ctx.db, supervisee.id, now=ctx.clock.now())
        if owned is not None:
            # One permitted area per supervisee: a second one would silently widen it.
            raise Conflict(f"the permitted area comes from the supervisee's permitted_area_codes (fence {owned.id}): "
                           f"change the codes with PATCH /supervisees/{supervisee.id}")
    parsed, raw = _shape(ctx, kind, data)
    curfew = _curfew(kind, data.curfew)
    valid_from, valid_to = _window(ctx, kind, data.valid_from, data.valid_to)
    fence = writer.open_fence(
        ctx.db, supervisee_id=supervisee.id, kind=kind.value, label=data.label or _LABELS[kind],
        shape=writer.Shape.parsed(parsed, raw), valid_from=valid_from, valid_to=valid_to,
        created_by=ctx.principal.user_id, source=source, sensitive=kind is FenceKind.EXCLUSION or bool(data.sensitive),
        curfew=curfew, min_fixes=data.min_fixes or writer.DEFAULT_MIN_FIXES,
        min_seconds=writer.DEFAULT_MIN_SECONDS if data.min_seconds is None else data.min_seconds)
    _check_engine(writer.current_version(ctx.db, fence), fence)
    ctx.record("fence.create", "fence", fence.id,
               detail={"supervisee_id": supervisee.id, "kind": kind.value, "version": 1})
    return _fence_out(ctx, fence)


def new_version(*, ctx: Ctx, fence_id: int, data: FenceVersionIn) -> FenceOut:
    """Close the current version at ``valid_from`` and open the next; omitted fields carry over."""
    require_role(ctx.principal, SUPERVISEE_WRITERS, "change fences")
    fence = _scoped_fence(ctx, fence_id, "fence.version", lock=True)
    if fence.retired_at is not None:
        raise Conflict("the fence is retired; create a new fence instead")
    if data.shape_fields() or data.valid_from is not None or "valid_to" in data.model_fields_set:
        _refuse_if_codes_own(fence)  # its shape and window are the codes'; its rule (min_fixes…) may change
    kind = FenceKind(fence.kind)
    prev = writer.current_version(ctx.db, fence)
    if data.shape_fields():
        parsed, raw = _shape(ctx, kind, data)
        shape: writer.StoredShape = writer.Shape.parsed(parsed, raw)
    else:
        shape = prev
    curfew = _curfew(kind, data.curfew) if data.curfew is not None else list(prev.curfew or [])
    valid_to = data.valid_to
    if "valid_to" not in data.model_fields_set:
        # Carry an end forward (a leave keeps its end unless told otherwise).
        start = data.valid_from or ctx.clock.now()
        valid_to = prev.valid_to if prev.valid_to is not None and prev.valid_to > start else None
    valid_from, valid_to = _window(ctx, kind, data.valid_from, valid_to, after=prev.valid_from)
    version = writer.add_version(
        ctx.db, fence, shape=shape, valid_from=valid_from, valid_to=valid_to, created_by=ctx.principal.user_id,
        curfew=curfew, min_fixes=data.min_fixes or prev.min_fixes,
        min_seconds=prev.min_seconds if data.min_seconds is None else data.min_seconds)
    _check_engine(version, fence)
    ctx.record("fence.version", "fence", fence.id,
               detail={"supervisee_id": fence.supervisee_id, "version": version.version,
                       "valid_from": valid_from.isoformat(), "geometry_changed": bool(data.shape_fields())})
    return _fence_out(ctx, fence)


def retire_fence(*, ctx: Ctx, fence_id: int) -> FenceOut:
    """End the fence now: close the version in force; versions not yet started never apply."""
    require_role(ctx.principal, SUPERVISEE_WRITERS, "retire fences")
    fence = _scoped_fence(ctx, fence_id, "fence.retire", lock=True)
    if fence.retired_at is not None:
        raise Conflict("the fence is already retired")
    _refuse_if_codes_own(fence)
    writer.end_fence(ctx.db, fence, now=ctx.clock.now())
    ctx.record("fence.retire", "fence", fence.id, detail={"supervisee_id": fence.supervisee_id})
    return _fence_out(ctx, fence)


def get_fence(*, ctx: Ctx, fence_id: int) -> FenceOut:
    """One fence with its current version's geometry (WGS-84) and its version history."""
    require_role(ctx.principal, READERS, "read fences")
    fence = _scoped_fence(ctx, fence_id, "fence.read")
    out = _fence_out(ctx, fence)
    ctx.record("fence.read", "fence", fence.id, detail={"supervisee_id": fence.supervisee_id,
                                                         "version": fence.current_version})
    return out


def list_fences(*, ctx: Ctx, supervisee_id: int, include_retired: bool = False, limit: int = 50,
                offset: int = 0) -> Page[FenceSummary]:
    """A supervisee's fences (no geometry; GET /fences/{id} for that)."""
    require_role(ctx.principal, READERS, "read fences")
    get_scoped(ctx, supervisee_id)
    query = _visible(ctx).where(Fence.supervisee_id == supervisee_id)
    if not include_retired:
        query = query.where(Fence.retired_at.is_(None))
    total = ctx.db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = ctx.db.execute(
        query.add_columns(FenceVersion)
        .join(FenceVersion, (FenceVersion.fence_id == Fence.id) & (FenceVersion.version == Fence.current_version))
        .order_by(Fence.id).limit(limit).offset(offset)
    ).all()
    ctx.record("fence.list", "supervisee", supervisee_id, detail={"ids": [f.id for f, _ in rows], "offset": offset})
    return Page(items=[_summary(f, v) for f, v in rows], total=total, limit=limit, offset=offset)

