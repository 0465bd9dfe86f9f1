"""Parse and validate fence geometry as callers send it (GeoJSON or a circle).

Pure functions, no database: the service feeds in what the request said and
gets back a WGS-84 geometry that the engine is guaranteed to accept, or a
:class:`GeometryError` whose message says exactly what is wrong.

The GeoJSON is walked by hand *before* Shapely sees it, for two reasons:
Shapely silently closes unclosed rings (hiding a client bug we should
report), and counting vertices first keeps a hostile 10-million-vertex
body from ever reaching GEOS. Foreign members (``properties``, ``crs``, any
other key) are refused, not kept: the input is stored as evidence and
answered back in every listing, so only the validated, bounded subset
(:attr:`ParsedGeometry.geojson`) may be stored -- a foreign member nested
500 deep once made every listing that showed it fail.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo.datum import EARTH_RADIUS_M, Datum, to_wgs84, transform_geometry
from geo.engine import Circle

__all__ = [
    "MAX_AREA_KM2",
    "MAX_RADIUS_M",
    "MAX_VERTICES",
    "GeometryError",
    "ParsedGeometry",
    "area_km2",
    "parse_circle",
    "parse_geojson",
]

MAX_VERTICES = 20_000
MAX_RADIUS_M = 50_000.0
# A county is ~2,000 km², a prefecture-level city ~9,000 km²; anything above
# this is a typo (swapped lon/lat, a stray vertex in another province).
MAX_AREA_KM2 = 50_000.0


class GeometryError(ValueError):
    """The geometry a caller sent cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class ParsedGeometry:
    """A validated fence geometry in WGS-84: a (Multi)Polygon, or a circle as centre + radius."""

    geometry: BaseGeometry  # Point (circle centre) or (Multi)Polygon, WGS-84
    radius_m: float | None
    datum: str
    geojson: dict[str, Any] | None = None  # the GeoJSON as sent, reduced to what was validated

    def to_engine(self) -> BaseGeometry | Circle:
        """What geo.engine.Fence takes as its geometry."""
        if self.radius_m is not None:
            return Circle(float(self.geometry.x), float(self.geometry.y), self.radius_m)
        return self.geometry


# RFC 7946 members of a geometry object; ``bbox`` is optional and validated.
_MEMBERS = ("type", "coordinates", "bbox")


def _numbers(values: list[Any], where: str) -> list[float]:
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise GeometryError(f"{where}: coordinates must be numbers")
    try:
        return [float(v) for v in values]
    except OverflowError:  # a JSON integer of hundreds of digits is a valid int but no float
        raise GeometryError(f"{where}: a coordinate is far out of range") from None


def _position(pos: Any, where: str) -> tuple[float, float]:
    if not isinstance(pos, (list, tuple)) or len(pos) not in (2, 3):
        raise GeometryError(f"{where}: a position must be [lon, lat] (optionally with altitude)")
    lon, lat, *_ = _numbers(list(pos), where)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise GeometryError(f"{where}: coordinates must be finite numbers (got NaN or Infinity)")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise GeometryError(f"{where}: coordinates out of range ({lon}, {lat}); expected lon in [-180, 180], "
                            "lat in [-90, 90], in that order")
    return lon, lat


def _ring(ring: Any, where: str, budget: list[int]) -> list[tuple[float, float]]:
    if not isinstance(ring, list):
        raise GeometryError(f"{where}: a ring must be a list of positions")
    budget[0] -= len(ring)
    if budget[0] < 0:
        raise GeometryError(f"too many vertices: at most {MAX_VERTICES} are allowed")
    if len(ring) < 4:
        raise GeometryError(f"{where}: a ring needs at least 4 positions (3 corners plus the closing one)")
    coords = [_position(p, f"{where}[{i}]") for i, p in enumerate(ring)]
    if coords[0] != coords[-1]:
        raise GeometryError(f"{where}: ring is not closed (the last position must repeat the first)")
    return coords


def _polygon(rings: Any, where: str, budget: list[int]) -> Polygon:
    if not isinstance(rings, list) or not rings:
        raise GeometryError(f"{where}: empty polygon (a polygon needs an outer ring)")
    shell, *holes = (_ring(r, f"{where}[{i}]", budget) for i, r in enumerate(rings))
    return Polygon(shell, holes)


def _describe_invalid(geom: BaseGeometry) -> str:
    reason = shapely.is_valid_reason(geom)
    if reason.startswith("Self-intersection") or reason.startswith("Ring Self-intersection"):
        return f"polygon is self-intersecting ({reason})"
    if reason.startswith("Hole lies outside shell"):
        return f"a hole lies outside its shell ({reason})"
    if reason.startswith("Nested shells") or reason.startswith("Interior is disconnected"):
        return f"polygon parts overlap or are nested ({reason})"
    return f"invalid polygon: {reason}"


def area_km2(geom: BaseGeometry) -> float:
    """Spherical area of a lon/lat (Multi)Polygon in km² (within ~0.5 % of geodesic)."""
    total = 0.0
    for poly in getattr(geom, "geoms", [geom]):
        rings = [poly.exterior, *poly.interiors]
        for k, ring in enumerate(rings):
            xy = np.radians(np.asarray(ring.coords, np.float64))
            lam, phi = xy[:, 0], xy[:, 1]
            a = abs(np.sum((lam[1:] - lam[:-1]) * (2 + np.sin(phi[:-1]) + np.sin(phi[1:])))) * EARTH_RADIUS_M**2 / 2
            total += a if k == 0 else -a
    return total / 1e6


def check_polygonal(geom: BaseGeometry, what: str = "geometry") -> None:
    """Refuse empty, invalid or oversized (Multi)Polygons (WGS-84 lon/lat)."""
    if geom.is_empty:
        raise GeometryError(f"{what} is empty")
    if not geom.is_valid:
        raise GeometryError(f"{what}: {_describe_invalid(geom)}")
    area = area_km2(geom)
    if area > MAX_AREA_KM2:
        raise GeometryError(f"{what} is too large: {area:,.0f} km² (at most {MAX_AREA_KM2:,.0f} km²)")


def _members(doc: dict[str, Any]) -> None:
    foreign = [str(k) for k in doc if k not in _MEMBERS]
    if foreign:
        # Named, cut short: a hostile key may be megabytes long.
        shown = ", ".join(repr(k[:40]) for k in foreign[:3])
        raise GeometryError(f"geometry member {shown} not allowed: a geometry has only type, coordinates "
                            "and optionally bbox")


def _bbox(value: Any) -> list[float]:
    if not isinstance(value, list) or len(value) not in (4, 6):
        raise GeometryError("geometry.bbox must be a list of 4 (or 6, with altitude) numbers")
    numbers = _numbers(value, "geometry.bbox")
    if not all(math.isfinite(v) for v in numbers):
        raise GeometryError("geometry.bbox must hold finite numbers")
    return numbers


def parse_geojson(doc: Any, datum: str) -> ParsedGeometry:
    """Validate a GeoJSON Polygon/MultiPolygon declared in ``datum`` and convert it to WGS-84."""
    if not isinstance(doc, dict):
        raise GeometryError("geometry must be a GeoJSON object")
    _members(doc)
    kind, coords = doc.get("type"), doc.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon"):
        raise GeometryError(f"geometry must be a GeoJSON Polygon or MultiPolygon, got {kind!r}")
    budget = [MAX_VERTICES]
    if kind == "Polygon":
        geom: BaseGeometry = _polygon(coords, "coordinates", budget)
    else:
        if not isinstance(coords, list) or not coords:
            raise GeometryError("geometry is empty: a MultiPolygon needs at least one polygon")
        geom = MultiPolygon([_polygon(p, f"coordinates[{i}]", budget) for i, p in enumerate(coords)])
    check_polygonal(geom)
    wgs = transform_geometry(geom, Datum(datum))
    if not wgs.is_valid:  # the datum shift is smooth, but a near-degenerate ring can still fold
        raise GeometryError(f"geometry became invalid after conversion from {datum}: {_describe_invalid(wgs)}")
    # Every list and number of ``coords`` was walked above (bounded by
    # MAX_VERTICES), so it is safe to keep as the caller's evidence.
    kept: dict[str, Any] = {"type": kind, "coordinates": coords}
    if "bbox" in doc:
        kept["bbox"] = _bbox(doc["bbox"])
    return ParsedGeometry(wgs, None, datum, kept)


def parse_circle(lon: float, lat: float, radius_m: float, datum: str) -> ParsedGeometry:
    """Validate a circle (centre declared in ``datum``) and convert its centre to WGS-84."""
    for name, v in (("lon", lon), ("lat", lat), ("radius_m", radius_m)):
        if not math.isfinite(v):
            raise GeometryError(f"circle.{name} must be a finite number")
    if not (-180.0 <= lon <= 180.0 and -90.0 < lat < 90.0):
        raise GeometryError(f"circle centre out of range ({lon}, {lat})")
    if not (0.0 < radius_m <= MAX_RADIUS_M):
        raise GeometryError(f"circle radius must be > 0 and at most {MAX_RADIUS_M:,.0f} m, got {radius_m}")
    wlon, wlat = to_wgs84(lon, lat, Datum(datum))
    Circle(wlon, wlat, radius_m)  # the engine's own check, so a stored circle always loads
    return ParsedGeometry(Point(wlon, wlat), float(radius_m), datum)
