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

import numpy as np
import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point, Polygon
from sqlalchemy import Float, case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from core.errors import Invalid
from geo.datum import EARTH_RADIUS_M, to_wgs84
from geo.geometry_input import (
    MAX_AREA_KM2,
    GeometryError,
    ParsedGeometry,
    area_km2,
    check_polygonal,
    parse_circle,
    parse_geojson,
)
from geo.models import AdminArea, Fence, FenceVersion
from leave.schemas import DestinationIn
from supervision.models import Supervisee

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


# --- travel corridor -------------------------------------------------------------
#
# Between home and a distant destination the supervisee is outside both the
# permitted area and the destination, and the engine (rightly) calls that a
# violation while a leave_destination fence is valid. The journey itself is
# part of the approval, so for the two travel windows (departure ± allowance,
# return ± allowance) a second kind of leave_destination fence, the corridor,
# allows the route area: convex hull of home and the destination, buffered.
# One fence per leg (not two versions of one fence): each leg is then a plain
# one-window fence that open_fence / reschedule_fence / end_fence already keep
# non-retroactive, and a leg can be moved or ended without touching the other.

CORRIDOR_LEGS = ("outbound", "return")
# Far below geometry_input.MAX_VERTICES: the engine tests every fix of the trip
# against it, and a corridor needs no detail finer than its buffer.
CORRIDOR_MAX_VERTICES = 1_000
_CORRIDOR_MIN_BUFFER_M = 2_000.0  # narrower than this is no use as a road corridor: give up instead


def _aeqd(lon0: float, lat0: float) -> tuple[Any, Any]:
    """Forward / inverse spherical azimuthal-equidistant projection at (lon0, lat0), metres, on (N, 2) arrays.

    Why not geo.engine.local_xy: its inverse is good to a few km only, and a
    corridor spans hundreds; distances from the centre are exact here and
    transverse scale is off by < 1 % up to 1,500 km.
    """
    phi0, lam0 = np.radians(lat0), np.radians(lon0)
    sp0, cp0 = np.sin(phi0), np.cos(phi0)

    def forward(xy: np.ndarray) -> np.ndarray:
        lam, phi = np.radians(xy[:, 0]) - lam0, np.radians(xy[:, 1])
        cos_c = np.clip(sp0 * np.sin(phi) + cp0 * np.cos(phi) * np.cos(lam), -1.0, 1.0)
        k = EARTH_RADIUS_M / np.sinc(np.arccos(cos_c) / np.pi)  # R * c / sin(c), R at the centre
        return np.column_stack([k * np.cos(phi) * np.sin(lam),
                                k * (cp0 * np.sin(phi) - sp0 * np.cos(phi) * np.cos(lam))])

    def inverse(xy: np.ndarray) -> np.ndarray:
        x, y = xy[:, 0], xy[:, 1]
        rho = np.hypot(x, y)
        c = rho / EARTH_RADIUS_M
        sc, cc = np.sin(c), np.cos(c)
        ratio = np.divide(y * sc * cp0, rho, out=np.zeros_like(rho), where=rho > 0)
        phi = np.arcsin(np.clip(cc * sp0 + ratio, -1.0, 1.0))
        lam = lam0 + np.arctan2(x * sc, rho * cp0 * cc - y * sp0 * sc)
        return np.column_stack([np.degrees(lam), np.degrees(phi)])

    return forward, inverse


def home_point(db: Session, supervisee: Supervisee, *, now: datetime) -> Point | None:
    """Where the journey starts: the residence, else a point inside the permitted area in force (None if neither)."""
    if supervisee.residence is not None:
        return to_shape(supervisee.residence)
    rows = db.execute(select(FenceVersion.geom).join(Fence, Fence.id == FenceVersion.fence_id).where(
        Fence.supervisee_id == supervisee.id, Fence.kind == "permitted", Fence.retired_at.is_(None),
        FenceVersion.valid_from <= now, (FenceVersion.valid_to.is_(None)) | (FenceVersion.valid_to > now))).all()
    if not rows and supervisee.permitted_area_codes:
        rows = db.execute(select(AdminArea.geom).where(AdminArea.code.in_(list(supervisee.permitted_area_codes)))).all()
    if not rows:
        return None
    # representative_point, not centroid: always inside, even for a crescent-shaped district.
    return shapely.union_all([to_shape(g) for (g,) in rows]).representative_point()


def corridor_polygon(home: Point, dest: Any, dest_radius_m: float | None,
                     buffer_m: float) -> tuple[Polygon, float] | None:
    """Convex hull of ``home`` and the destination buffered by ``buffer_m`` metres (WGS-84), and the width used.

    Buffered in a local metric projection (a degree of longitude is not a
    degree of latitude). Kept within the fence limits: at most
    CORRIDOR_MAX_VERTICES vertices, and at most MAX_AREA_KM2 by narrowing the
    buffer for very long routes. None when no valid corridor fits (the leave
    then simply has none: alerts on the road, never a crash of the approval).
    """
    centre = shapely.MultiPoint([home, dest.centroid]).centroid
    forward, inverse = _aeqd(centre.x, centre.y)
    target = shapely.transform(dest, forward)
    if dest_radius_m is not None:
        target = target.buffer(dest_radius_m, quad_segs=16)  # a circle is stored as its centre
    hull = shapely.union(shapely.transform(home, forward), target).convex_hull
    width = buffer_m
    while width >= _CORRIDOR_MIN_BUFFER_M:
        poly = hull.buffer(width, quad_segs=8)
        # Simplify cuts inwards by at most the tolerance; capped at a tenth of the width.
        tolerance = 10.0
        while shapely.get_num_coordinates(poly) > CORRIDOR_MAX_VERTICES // 2 and tolerance < width / 10:
            poly, tolerance = poly.simplify(tolerance), tolerance * 2
        # Straight edges in the projection are curves in lon/lat: densify before going back.
        poly = shapely.segmentize(poly, max(5_000.0, poly.length / (CORRIDOR_MAX_VERTICES // 2)))
        out = shapely.transform(poly, inverse)
        if shapely.get_num_coordinates(out) > CORRIDOR_MAX_VERTICES or not out.is_valid:
            return None
        if area_km2(out) <= MAX_AREA_KM2:
            return (out, width) if isinstance(out, Polygon) else None
        width *= 0.7
    return None


def corridor_fences(db: Session, *, supervisee_id: int, leave_id: int) -> dict[str, Fence]:
    """The live (not retired) corridor fences of a leave, by leg."""
    rows = db.scalars(select(Fence).where(
        Fence.supervisee_id == supervisee_id, Fence.kind == "leave_destination", Fence.retired_at.is_(None),
        Fence.source["leave_id"].as_integer() == leave_id, Fence.source.has_key("corridor"))
        .order_by(Fence.id).with_for_update())
    return {f.source["corridor"]: f for f in rows}


def sync_corridor(db: Session, *, leave: Any, windows: dict[str, tuple[datetime, datetime]], buffer_m: float,
                  now: datetime, created_by: int | None) -> list[int]:
    """Make the leave's corridor fences allow exactly ``windows`` (by leg) from now on; returns live fence ids.

    Same rules as the destination fence: an unchanged leg is left alone, a
    changed one is rescheduled (never into the past), a leg no longer wanted
    is ended, and a missing one is opened from max(start, now).
    """
    live = corridor_fences(db, supervisee_id=leave.supervisee_id, leave_id=leave.id)
    geometry: Destination | None = None
    kept: list[int] = []
    for leg in CORRIDOR_LEGS:
        fence, wanted = live.get(leg), windows.get(leg)
        if fence is not None and wanted is None:
            end_fence(db, fence, now=now)
            continue
        if wanted is None:
            continue
        start, end = wanted
        if fence is not None:
            current = next(v for v in _versions(db, fence) if v.version == fence.current_version)
            # Unchanged: same end, and the start either equal or already history (cannot be rewritten).
            if current.valid_to == end and (current.valid_from == start or current.valid_from <= now):
                kept.append(fence.id)
                continue
            moved = reschedule_fence(db, fence, valid_from=start, valid_to=end, now=now, created_by=created_by)
            kept += [moved.id] if moved is not None else []
            continue
        if end <= now:
            continue  # not retroactive: a window already over is not created after the fact
        if geometry is None:
            supervisee = db.get(Supervisee, leave.supervisee_id)
            home = home_point(db, supervisee, now=now)
            made = corridor_polygon(home, to_shape(leave.geom), leave.radius_m, buffer_m) if home else None
            if made is None:
                return kept
            poly, width = made
            geometry = Destination(leave.address, from_shape(poly, srid=4326), None, "wgs84", {
                "corridor": {"home": [home.x, home.y], "buffer_m": round(width, 1), "leave_id": leave.id}})
        opened = open_fence(db, supervisee_id=leave.supervisee_id, dest=geometry,
                            label=f"出行通道 travel corridor ({leg}) → {leave.address}",
                            source={"leave_id": leave.id, "corridor": leg}, valid_from=max(start, now),
                            valid_to=end, created_by=created_by)
        kept.append(opened.id)
    return kept
