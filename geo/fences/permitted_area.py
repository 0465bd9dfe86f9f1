"""A supervisee's permitted area (Law art. 27): the fence their ``permitted_area_codes`` mean.

``Supervisee.permitted_area_codes`` is the record; the fence is what the
engine judges. Whoever creates or changes a supervisee (the API routes, the
demo seeding) calls :func:`sync_permitted_area` in the same transaction, so
the two never disagree:

* codes set, no permitted fence in force -> a new fence, the union of the areas;
* codes changed -> the next version of that fence (history kept, not retroactive);
* codes unchanged -> nothing is written;
* codes empty -> the permitted fences are ended: an explicit "no permitted
  area", which :func:`area_warnings` then shows on the record and in lists;
* an unknown code -> 422 naming it, and nothing is written.

Afterwards the supervisee has exactly one permitted fence in force (or none
for empty codes): extra permitted fences made through POST /fences are ended.
This lives in geo, not supervision: supervision is below geo and may not call
its fence writer; the callers sit above both.

Whether a position is inside the permitted area (the return report, 销假) is
decided by the engine, as at ingest: the database only loads the candidate
fences (:func:`inside_permitted_area`).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import Ctx
from supervision.scope import STAFF_READERS
from core.errors import Invalid
from core.schemas import Page
from geo.admin_areas import admin_union
from geo.datum import to_wgs84
from geo.engine import Decision, FenceKind, decide
from geo.fences.loading import fence_to_engine, load_fence_set
from geo.fences.writer import (
    DEFAULT_MIN_FIXES, DEFAULT_MIN_SECONDS, Shape, add_version, current_version, end_fence, open_fence,
)
from geo.geometry_input import GeometryError, ParsedGeometry
from geo.models import AdminArea, Fence, FenceVersion
from supervision.models import Supervisee
from supervision.schemas import SuperviseeOut

__all__ = ["NO_AREA_WARNING", "FenceChange", "area_warnings", "check_codes", "codes_fence", "inside_permitted_area",
           "sync_permitted_area", "sync_permitted_fence", "with_area_warnings"]

NO_AREA_WARNING = "no permitted area: leaving the county raises no alert"
_STALE_HINT = " (permitted_area_codes are set but no permitted-area fence is in force; send them again to make it)"
SOURCE = {"from": "permitted_area_codes"}  # marks the fence the codes own
_PERMITTED = FenceKind.PERMITTED.value


class FenceChange(NamedTuple):
    """One write the sync made, for the caller's audit row."""

    action: str  # fence.create | fence.version | fence.retire
    fence: Fence
    version: int


def _in_force(now: datetime):
    return (Fence.retired_at.is_(None), FenceVersion.valid_from <= now,
            (FenceVersion.valid_to.is_(None)) | (FenceVersion.valid_to > now))


def _current_permitted(db: Session, supervisee_id: int, now: datetime, *, lock: bool = True) -> list[Fence]:
    """Permitted fences not retired whose current version has not ended, codes-owned first, then oldest."""
    query = (select(Fence).join(FenceVersion, (FenceVersion.fence_id == Fence.id)
                                & (FenceVersion.version == Fence.current_version))
             .where(Fence.supervisee_id == supervisee_id, Fence.kind == _PERMITTED, Fence.retired_at.is_(None),
                    (FenceVersion.valid_to.is_(None)) | (FenceVersion.valid_to > now))
             .order_by(Fence.id))
    rows = db.scalars(query.with_for_update(of=Fence) if lock else query).all()
    return sorted(rows, key=lambda f: (dict(f.source or {}).get("from") != SOURCE["from"], f.id))


def codes_fence(db: Session, supervisee_id: int, *, now: datetime) -> Fence | None:
    """The permitted fence the supervisee's codes own, if one has not ended."""
    owned = [f for f in _current_permitted(db, supervisee_id, now, lock=False)
             if dict(f.source or {}).get("from") == SOURCE["from"]]
    return owned[0] if owned else None


def _label(db: Session, codes: list[str]) -> str:
    names = dict(db.execute(select(AdminArea.code, AdminArea.name).where(AdminArea.code.in_(codes))).all())
    return "许可活动区域 " + "∪".join(names.get(c, c) for c in codes)


def sync_permitted_fence(db: Session, supervisee: Supervisee, *, now: datetime, created_by: int | None,
                         union: ParsedGeometry | None = None) -> list[FenceChange]:
    """Make the supervisee's permitted fence match their codes from ``now`` on; returns what was written.

    ``union`` (the codes' area, if the caller already has it) saves the union per
    supervisee when seeding many. Raises GeometryError for an unknown code. Unaudited.
    """
    codes = list(dict.fromkeys(supervisee.permitted_area_codes or []))
    current = _current_permitted(db, supervisee.id, now)
    keep = current[0] if codes and current else None
    changes = [FenceChange("fence.retire", f, f.current_version) for f in current if f is not keep]
    for change in changes:
        end_fence(db, change.fence, now=now)
    if not codes:
        return changes
    prev = current_version(db, keep) if keep is not None else None
    if prev is not None and sorted(dict(prev.raw or {}).get("admin_codes") or []) == sorted(codes):
        return changes  # unchanged codes: no new version
    shape = union or admin_union(db, codes)
    stored = Shape.parsed(shape, {"admin_codes": codes})
    if prev is not None and prev.valid_from < now:
        version = add_version(db, keep, shape=stored, valid_from=now, valid_to=None, created_by=created_by,
                              min_fixes=prev.min_fixes, min_seconds=prev.min_seconds)
        keep.source = {**dict(keep.source or {}), **SOURCE}
        changes.append(FenceChange("fence.version", keep, version.version))
    else:
        # None in force, or the current version has not started yet: a version
        # cannot start before the one it follows, so that fence ends and a new one begins.
        if keep is not None:
            end_fence(db, keep, now=now)
            changes.append(FenceChange("fence.retire", keep, keep.current_version))
        keep = open_fence(db, supervisee_id=supervisee.id, kind=_PERMITTED, label=_label(db, codes), shape=stored,
                          valid_from=now, valid_to=None, created_by=created_by, source=SOURCE,
                          min_fixes=prev.min_fixes if prev else DEFAULT_MIN_FIXES,
                          min_seconds=prev.min_seconds if prev else DEFAULT_MIN_SECONDS)
        changes.append(FenceChange("fence.create", keep, 1))
    try:
        fence_to_engine(current_version(db, keep), keep)  # belt and braces: what is stored must load
    except ValueError as exc:
        raise GeometryError(f"the permitted area of codes {codes} cannot be judged: {exc}") from None
    return changes


def check_codes(*, ctx: Ctx, codes: list[str] | None) -> None:
    """422 naming any code that is not an imported administrative area (so a caller can refuse before writing)."""
    wanted = set(codes or [])
    known = set(ctx.db.scalars(select(AdminArea.code).where(AdminArea.code.in_(wanted)))) if wanted else set()
    if wanted - known:
        raise Invalid(f"unknown administrative area code(s): {', '.join(sorted(wanted - known))} "
                      "(import them with `zhijiao fences import-boundary`)", field="permitted_area_codes")


def sync_permitted_area(*, ctx: Ctx, supervisee_id: int) -> list[FenceChange]:
    """The audited sync for a request: call it after creating or changing a supervisee's codes."""
    supervisee = ctx.db.scalar(select(Supervisee).where(Supervisee.id == supervisee_id).with_for_update(of=Supervisee))
    assert supervisee is not None, "call after the scoped service has found or made the supervisee"
    try:
        changes = sync_permitted_fence(ctx.db, supervisee, now=ctx.clock.now(), created_by=ctx.principal.user_id)
    except GeometryError as exc:
        raise Invalid(str(exc), field="permitted_area_codes") from None
    for c in changes:
        ctx.record(c.action, "fence", c.fence.id, detail={
            "supervisee_id": supervisee.id, "kind": _PERMITTED, "version": c.version,
            "via": "permitted_area_codes", "admin_codes": list(supervisee.permitted_area_codes or [])})
    return changes


def area_warnings(db: Session, supervisees: Iterable[Supervisee | SuperviseeOut], *,
                  now: datetime) -> dict[int, list[str]]:
    """Warnings per supervisee id: those with no permitted fence in force now are unguarded."""
    rows = list(supervisees)
    ids = [r.id for r in rows]
    guarded = set(db.scalars(
        select(Fence.supervisee_id).join(FenceVersion, FenceVersion.fence_id == Fence.id)
        .where(Fence.supervisee_id.in_(ids), Fence.kind == _PERMITTED, *_in_force(now)))) if ids else set()
    return {r.id: [] if r.id in guarded else
            [NO_AREA_WARNING + (_STALE_HINT if r.permitted_area_codes else "")] for r in rows}


Out = TypeVar("Out", SuperviseeOut, Page[SuperviseeOut])


def with_area_warnings(ctx: Ctx, out: Out) -> Out:
    """The record (or page of records) with its permitted-area warnings filled in, for staff.

    A supervisee reading their own record is never told that leaving the
    county would raise no alert: the warning is for the people who fix it.
    """
    if ctx.principal.role not in STAFF_READERS:
        return out
    items = out.items if isinstance(out, Page) else [out]
    found = area_warnings(ctx.db, items, now=ctx.clock.now())
    for item in items:
        item.warnings = found[item.id]
    return out


def inside_permitted_area(db: Session, supervisee_id: int, codes: list[str], *, lon: float, lat: float,
                          datum: str, accuracy_m: float, now: datetime) -> bool | None:
    """Is the whole accuracy circle inside the permitted area in force now? None if there is none.

    The engine decides, exactly as at ingest (accuracy-aware containment, inside
    any permitted fence in force); the database only loads the candidates. A
    supervisee whose codes predate their fence is judged against the codes' area.
    """
    wlon, wlat = to_wgs84(lon, lat, datum)
    fences = load_fence_set(db, supervisee_id, since=now)
    j = fences.judge([supervisee_id], [now.timestamp()], [wlon], [wlat], [accuracy_m])
    permitted = [int(d) for k, d in zip(j.fence.tolist(), j.decision.tolist()) if fences.fences[k].kind == _PERMITTED]
    if permitted:
        return Decision.INSIDE in permitted
    if not codes:
        return None
    try:
        area = admin_union(db, list(codes))
    except GeometryError:
        return None  # codes no longer known: no area to report back into
    return bool(decide(area.geometry, [wlon], [wlat], [accuracy_m])[0] == Decision.INSIDE)
