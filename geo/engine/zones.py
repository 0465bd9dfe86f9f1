"""Fence value objects and their projected, prepared geometry.

Every fence geometry is WGS-84 lon/lat.  For metric judgements a polygonal
zone is projected once into its own local frame: the orthographic (ENU)
tangent plane of the WGS-84 ellipsoid at the zone's centroid.  Distances in
that plane differ from geodesic ones by a factor cos(rho/R) at distance rho
from the origin, i.e. < 0.01 % anywhere in a zone 100 km across, far inside
the 0.5 m + 0.2 % budget (plain equirectangular would drift ~0.4 % at 50 km
from the origin).  Fixes are projected into the same frame of whichever zone
they are tested against, with the same formula, so the two always agree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from .curfew import CurfewWindow, to_epoch
from .persistence import PersistenceRule

__all__ = [
    "Circle",
    "Fence",
    "FenceKind",
    "ZoneGeometry",
    "distance_to_boundary_m",
    "local_to_lonlat",
    "local_xy",
    "zone_geometry",
]

_A = 6378137.0
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)
# Straight lon/lat edges become slightly curved in the local frame; segmentizing
# first keeps the projected chords within ~1 cm of the true edge.
_SEGMENT_DEG = 0.01


class FenceKind(StrEnum):
    PERMITTED = "permitted"
    EXCLUSION = "exclusion"
    CURFEW = "curfew"
    LEAVE_DESTINATION = "leave_destination"


KIND_CODE = {FenceKind.PERMITTED: 1, FenceKind.EXCLUSION: 2, FenceKind.CURFEW: 3, FenceKind.LEAVE_DESTINATION: 4}


def local_xy(lon, lat, lon0, lat0) -> tuple[np.ndarray, np.ndarray]:
    """Project lon/lat (degrees) into the ENU tangent plane at (lon0, lat0), metres.

    All arguments broadcast, so each point may have its own origin.
    """
    phi = np.radians(np.asarray(lat, np.float64))
    phi0 = np.radians(np.asarray(lat0, np.float64))
    dlam = np.radians(np.asarray(lon, np.float64) - np.asarray(lon0, np.float64))
    sp, cp = np.sin(phi), np.cos(phi)
    sp0, cp0 = np.sin(phi0), np.cos(phi0)
    n = _A / np.sqrt(1.0 - _E2 * sp * sp)
    n0 = _A / np.sqrt(1.0 - _E2 * sp0 * sp0)
    x = n * cp * np.sin(dlam)
    y = n * (1.0 - _E2) * sp * cp0 - n * cp * sp0 * np.cos(dlam) + _E2 * n0 * sp0 * cp0
    return x, y


def local_to_lonlat(x, y, lon0, lat0) -> tuple[np.ndarray, np.ndarray]:
    """Approximate inverse of :func:`local_xy` (millimetres within a few km; broadcasts)."""
    phi0 = np.radians(np.asarray(lat0, np.float64))
    s = np.sin(phi0)
    w = np.sqrt(1 - _E2 * s * s)
    n0 = _A / w
    m0 = _A * (1 - _E2) / w**3
    lat = lat0 + np.degrees(np.asarray(y) / m0)
    lon = lon0 + np.degrees(np.asarray(x) / (n0 * np.cos(np.radians(lat))))
    return lon, lat


@dataclass(frozen=True, slots=True)
class Circle:
    """A geodesic circle: centre lon/lat (WGS-84) and radius in metres."""

    lon: float
    lat: float
    radius_m: float

    def __post_init__(self) -> None:
        if not (self.radius_m > 0 and math.isfinite(self.radius_m)):
            raise ValueError(f"circle radius must be positive, got {self.radius_m}")
        if not (-180 <= self.lon <= 180 and -90 < self.lat < 90):
            raise ValueError(f"circle centre out of range: {self.lon}, {self.lat}")


# Grid shortcut for big zones: a cell is "clear" when no boundary lies within
# GRID_MARGIN_M of any point of it, so a fix in a clear cell with accuracy
# <= GRID_MARGIN_M takes the cell's side without touching GEOS.  Exact, not a
# heuristic: the cell centre is farther than half-diagonal + margin from the boundary.
GRID_MARGIN_M = 150.0
_GRID_CELL_M = 200.0
_GRID_MAX_CELLS = 250_000
_GRID_MIN_VERTICES = 256


@dataclass(frozen=True, slots=True)
class ZoneGrid:
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    state: np.ndarray  # int8 per cell, row-major (iy, ix): 0 not clear, 1 clear inside, 2 clear outside

    def lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cell state per point (0 outside the grid)."""
        ix = np.floor((x - self.x0) / self.cell)
        iy = np.floor((y - self.y0) / self.cell)
        ok = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        out = np.zeros(x.shape, np.int8)
        out[ok] = self.state[iy[ok].astype(np.int64) * self.nx + ix[ok].astype(np.int64)]
        return out


def _build_grid(polygon: BaseGeometry, boundary: BaseGeometry) -> ZoneGrid | None:
    if shapely.get_num_coordinates(polygon) < _GRID_MIN_VERTICES:
        return None
    minx, miny, maxx, maxy = polygon.bounds
    cell = max(_GRID_CELL_M, math.sqrt((maxx - minx) * (maxy - miny) / _GRID_MAX_CELLS))
    nx, ny = int(math.ceil((maxx - minx) / cell)) or 1, int(math.ceil((maxy - miny) / cell)) or 1
    cx = minx + (np.arange(nx) + 0.5) * cell
    cy = miny + (np.arange(ny) + 0.5) * cell
    gx, gy = (a.ravel() for a in np.meshgrid(cx, cy))
    near = shapely.dwithin(boundary, shapely.points(gx, gy), cell * math.sqrt(0.5) + GRID_MARGIN_M)
    inside = shapely.contains_xy(polygon, gx, gy)
    state = np.where(near, 0, np.where(inside, 1, 2)).astype(np.int8)
    return ZoneGrid(minx, miny, cell, nx, ny, state)


@dataclass(frozen=True, eq=False, slots=True)
class ZoneGeometry:
    """A polygonal zone projected into its local frame, with prepared GEOS objects."""

    source: BaseGeometry
    lon0: float
    lat0: float
    polygon: BaseGeometry  # projected, prepared
    boundary: BaseGeometry  # projected, prepared
    radius_m: float  # max distance from the origin to any vertex
    grid: ZoneGrid | None = None

    def xy(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        return local_xy(lon, lat, self.lon0, self.lat0)


@lru_cache(maxsize=8192)
def _zone_from_wkb(wkb: bytes) -> ZoneGeometry:
    geom = shapely.from_wkb(wkb)
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise ValueError(f"fence geometry must be a non-empty (Multi)Polygon, got {geom.geom_type}")
    if not geom.is_valid:
        raise ValueError(f"fence geometry is invalid: {shapely.is_valid_reason(geom)}")
    c = geom.centroid
    lon0, lat0 = float(c.x), float(c.y)
    dense = shapely.segmentize(geom, _SEGMENT_DEG)
    projected = shapely.transform(dense, lambda xy: np.column_stack(local_xy(xy[:, 0], xy[:, 1], lon0, lat0)))
    boundary = projected.boundary
    shapely.prepare(projected)
    shapely.prepare(boundary)
    coords = shapely.get_coordinates(projected)
    radius = float(np.hypot(coords[:, 0], coords[:, 1]).max())
    return ZoneGeometry(geom, lon0, lat0, projected, boundary, radius, _build_grid(projected, boundary))


def zone_geometry(geom: BaseGeometry) -> ZoneGeometry:
    """The shared projected zone for ``geom``; equal geometries share one object."""
    return _zone_from_wkb(shapely.to_wkb(geom))


@dataclass(frozen=True, eq=False, slots=True)
class Fence:
    """One version of a geofence of one supervisee (plain values; no DB)."""

    id: int
    version: int
    supervisee_id: int
    kind: FenceKind
    geometry: BaseGeometry | Circle
    valid_from: datetime
    valid_to: datetime | None = None
    persistence: PersistenceRule = field(default_factory=PersistenceRule)
    curfew: tuple[CurfewWindow, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FenceKind(self.kind))
        object.__setattr__(self, "curfew", tuple(self.curfew))
        start = to_epoch(self.valid_from)
        if self.valid_to is not None and to_epoch(self.valid_to) <= start:
            raise ValueError(f"fence {self.id}: valid_to must be after valid_from")
        if (self.kind is FenceKind.CURFEW) != bool(self.curfew):
            raise ValueError(f"fence {self.id}: curfew windows are required for, and only for, kind 'curfew'")
        if not isinstance(self.geometry, Circle) and not isinstance(self.geometry, (Polygon, MultiPolygon)):
            raise ValueError(f"fence {self.id}: geometry must be a Circle or a (Multi)Polygon")

    @property
    def valid_from_s(self) -> float:
        return to_epoch(self.valid_from)

    @property
    def valid_to_s(self) -> float:
        return math.inf if self.valid_to is None else to_epoch(self.valid_to)


def distance_to_boundary_m(zone: Fence | Circle | BaseGeometry | ZoneGeometry, lon, lat) -> np.ndarray:
    """Signed metric distance from each point to the zone boundary: < 0 inside, > 0 outside."""
    if isinstance(zone, Fence):
        zone = zone.geometry
    lon = np.atleast_1d(np.asarray(lon, np.float64))
    lat = np.atleast_1d(np.asarray(lat, np.float64))
    if isinstance(zone, Circle):
        x, y = local_xy(lon, lat, zone.lon, zone.lat)
        return np.hypot(x, y) - zone.radius_m
    if not isinstance(zone, ZoneGeometry):
        zone = zone_geometry(zone)
    x, y = zone.xy(lon, lat)
    d = shapely.distance(zone.boundary, shapely.points(x, y))
    inside = shapely.contains_xy(zone.polygon, x, y)
    return np.where(inside, -d, d)
