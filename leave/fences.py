"""Leave geometry: parse destinations and keep ``leave_destination`` fences in step
with a leave or permit (the destination, the travel corridor, permit occurrences).

Rows are written through geo.fences.writer, the one unscoped fence writer,
not the officer-only service in geo.fences.service: leave fences also change
on a supervisee's withdrawal and in scheduled jobs. The writer keeps the
rules (never rewritten into the past, a version not yet started is voided by
retiring its fence, every write re-stamps ``gen`` for the fence caches);
this module decides only *when* a leave's fence opens, moves or ends.
Whether a return position is inside the permitted area is decided by the
engine: geo.fences.permitted_area.inside_permitted_area.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point, Polygon
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.datum import EARTH_RADIUS_M
from geo.fences import writer
from geo.fences.shapes import parse_shape
from geo.fences.writer import end_fence
from geo.geometry_input import MAX_AREA_KM2, area_km2
from geo.models import AdminArea, Fence, FenceVersion
from leave.schemas import DestinationIn
from supervision.models import Supervisee

__all__ = ["Destination", "end_fence", "open_fence", "parse_destination", "reschedule_fence", "sync_corridor"]


@dataclass(frozen=True)
class Destination:
    address: str
    geom: Any  # WKBElement, WGS-84
    radius_m: float | None
    datum: str
    raw: dict[str, Any]


def parse_destination(db: Session, data: DestinationIn, field: str) -> Destination:
    """Validate whichever shape was sent; errors name ``field.<shape>``."""
    parsed, raw = parse_shape(db, data, field_prefix=f"{field}.")
    return Destination(data.address, from_shape(parsed.geometry, srid=4326), parsed.radius_m, parsed.datum, raw)


def open_fence(db: Session, *, supervisee_id: int, dest: Destination | Any, label: str, source: dict[str, Any],
               valid_from: datetime, valid_to: datetime, created_by: int | None) -> Fence:
    """A new leave_destination fence with one version [valid_from, valid_to)."""
    return writer.open_fence(db, supervisee_id=supervisee_id, kind="leave_destination", label=label, shape=dest,
                             valid_from=valid_from, valid_to=valid_to, created_by=created_by, source=source)


def reschedule_fence(db: Session, fence: Fence, *, valid_from: datetime, valid_to: datetime, now: datetime,
                     created_by: int | None) -> Fence | None:
    """Make the fence allow [valid_from, valid_to) from now on; returns the fence now in force.

    A started version is closed at ``now`` and a new version continues it; a
    fence not yet started is retired and replaced (a version cannot be moved
    without rewriting what it said).
    """
    current = next(v for v in writer.versions(db, fence) if v.version == fence.current_version)
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
    writer.add_version(db, fence, shape=current, valid_from=now, valid_to=valid_to, created_by=created_by,
                       min_fixes=current.min_fixes, min_seconds=current.min_seconds)
    return fence


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
            current = next(v for v in writer.versions(db, fence) if v.version == fence.current_version)
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
