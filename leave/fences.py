"""Leave geometry: parse destinations, keep ``leave_destination`` fences in step
with a leave or permit, and check a return position against the permitted area.

Fence rows are written directly rather than through ``geo.fences``: those
service functions demand an officer or manager as caller, while leave fences
also change on a supervisee's withdrawal and in scheduled jobs. The rules of
``geo.fences`` are kept: versions are never rewritten into the past, a
started version is closed at "now" and followed by a new one, a version not
yet started is voided by retiring its fence (``effective_window``), and
every write re-stamps ``gen`` so every process's fence cache reloads.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import Float, case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from core.errors import Invalid
from geo.datum import to_wgs84
from geo.geometry_input import GeometryError, ParsedGeometry, check_polygonal, parse_circle, parse_geojson
from geo.models import AdminArea, Fence, FenceVersion
from leave.schemas import DestinationIn

_UNION_GRID_DEG = 1e-7  # as geo.fences: drop sliver holes along shared borders


@dataclass(frozen=True)
class Destination:
    address: str
    geom: Any  # WKBElement, WGS-84
    radius_m: float | None
    datum: str
    raw: dict[str, Any]


def parse_destination(db: Session, data: DestinationIn, field: str) -> Destination:
    """Validate whichever shape was sent; errors name ``field.<shape>``."""
    try:
        if data.geometry is not None:
            parsed = parse_geojson(data.geometry, data.datum)
            raw: dict[str, Any] = {"geometry": data.geometry, "datum": data.datum}
        elif data.circle is not None:
            c = data.circle
            parsed = parse_circle(c.lon, c.lat, c.radius_m, data.datum)
            raw = {"circle": c.model_dump(), "datum": data.datum}
        else:
            codes = list(dict.fromkeys(data.admin_codes or []))
            rows = db.execute(select(AdminArea.code, AdminArea.geom).where(AdminArea.code.in_(codes))).all()
            missing = sorted(set(codes) - {code for code, _ in rows})
            if missing:
                raise GeometryError(f"unknown administrative area code(s): {', '.join(missing)}")
            union = shapely.union_all(shapely.set_precision([to_shape(g) for _, g in rows], _UNION_GRID_DEG))
            check_polygonal(union, "the union of the administrative areas")
            parsed, raw = ParsedGeometry(union, None, "wgs84"), {"admin_codes": codes}
    except GeometryError as exc:
        raise Invalid(str(exc), field=f"{field}.{data.shape_fields()[0]}") from None
    return Destination(data.address, from_shape(parsed.geometry, srid=4326), parsed.radius_m, parsed.datum, raw)


def open_fence(db: Session, *, supervisee_id: int, dest: Destination | Any, label: str, source: dict[str, Any],
               valid_from: datetime, valid_to: datetime, created_by: int | None) -> Fence:
    """A new leave_destination fence with one version [valid_from, valid_to)."""
    fence = Fence(supervisee_id=supervisee_id, kind="leave_destination", label=label[:200], sensitive=False,
                  current_version=1, source=source, created_by=created_by)
    db.add(fence)
    db.flush()
    db.add(FenceVersion(fence_id=fence.id, version=1, geom=dest.geom, radius_m=dest.radius_m, datum=dest.datum,
                        raw=dict(dest.raw or {}), valid_from=valid_from, valid_to=valid_to, curfew=[],
                        created_by=created_by))
    db.flush()
    return fence


def _versions(db: Session, fence: Fence) -> list[FenceVersion]:
    return list(db.scalars(select(FenceVersion).where(FenceVersion.fence_id == fence.id)
                           .order_by(FenceVersion.version).with_for_update()))


def end_fence(db: Session, fence: Fence, *, now: datetime) -> None:
    """Stop the fence applying from ``now`` on (history before ``now`` stays)."""
    if fence.retired_at is not None:
        return
    fence.retired_at = now
    for v in _versions(db, fence):
        if v.valid_to is not None and v.valid_to <= now:
            continue
        if v.valid_from < now:
            v.valid_to = now
        else:
            flag_modified(v, "raw")  # void: re-stamp gen so caches see the retirement
    db.flush()


def reschedule_fence(db: Session, fence: Fence, *, valid_from: datetime, valid_to: datetime, now: datetime,
                     created_by: int | None) -> Fence | None:
    """Make the fence allow [valid_from, valid_to) from now on; returns the fence now in force.

    A started version is closed at ``now`` and a new version continues it; a
    fence not yet started is retired and replaced (a version cannot be moved
    without rewriting what it said).
    """
    versions = _versions(db, fence)
    current = next(v for v in versions if v.version == fence.current_version)
    if fence.retired_at is not None:
        return None
    if current.valid_from >= now:
        end_fence(db, fence, now=now)
        if valid_to <= max(valid_from, now):
            return None
        return open_fence(db, supervisee_id=fence.supervisee_id, dest=current, label=fence.label,
                          source=dict(fence.source or {}), valid_from=max(valid_from, now), valid_to=valid_to,
                          created_by=created_by)
    if valid_to <= now:
        end_fence(db, fence, now=now)
        return None
    if current.valid_to is None or current.valid_to > now:
        current.valid_to = now
    db.flush()  # close first: its gen is stamped below the new version's
    db.add(FenceVersion(fence_id=fence.id, version=current.version + 1, geom=current.geom, radius_m=current.radius_m,
                        datum=current.datum, raw=dict(current.raw or {}), valid_from=now, valid_to=valid_to,
                        curfew=[], created_by=created_by))
    fence.current_version = current.version + 1
    db.flush()
    return fence


def inside_permitted_area(db: Session, supervisee_id: int, codes: list[str], *, lon: float, lat: float,
                          datum: str, accuracy_m: float, now: datetime) -> bool | None:
    """Is the whole accuracy circle inside the supervisee's permitted area? None if no area is set.

    Checked by PostGIS against the permitted fence versions in force now, or,
    without such a fence, the union of the supervisee's permitted admin areas:
    the point must be covered (ST_Covers) and at least ``accuracy_m`` metres
    (geodesic) from the boundary, so a fix that may be outside is refused.
    """
    wlon, wlat = to_wgs84(lon, lat, datum)
    point = func.ST_SetSRID(func.ST_MakePoint(float(wlon), float(wlat)), 4326)
    g_point = func.geography(point)
    accuracy_m = float(accuracy_m)
    versions = select(FenceVersion.geom.label("geom"), FenceVersion.radius_m.label("radius_m")).join(
        Fence, Fence.id == FenceVersion.fence_id).where(
        Fence.supervisee_id == supervisee_id, Fence.kind == "permitted", Fence.retired_at.is_(None),
        FenceVersion.valid_from <= now, (FenceVersion.valid_to.is_(None)) | (FenceVersion.valid_to > now)).subquery()
    if not db.scalar(select(func.count()).select_from(versions)):
        if not codes:
            return None
        versions = select(AdminArea.geom.label("geom"), literal(None, Float).label("radius_m")).where(
            AdminArea.code.in_(codes)).subquery()
        if not db.scalar(select(func.count()).select_from(versions)):
            return None
    inside = case(
        (versions.c.radius_m.is_not(None),
         func.ST_Distance(func.geography(versions.c.geom), g_point) + accuracy_m <= versions.c.radius_m),
        else_=func.ST_Covers(versions.c.geom, point)
        & (func.ST_Distance(func.geography(func.ST_Boundary(versions.c.geom)), g_point) >= accuracy_m))
    return bool(db.scalar(select(func.coalesce(func.bool_or(inside), False)).select_from(versions)))
