"""WGS-84 / GCJ-02 / BD-09 conversions (scalar or numpy arrays).

GCJ-02 is WGS-84 plus a smooth, deliberately undocumented offset (about
580 m around Quzhou) applied only inside mainland China; BD-09 is GCJ-02
plus a further small rotation/scaling.  The forward formulas below are the
widely published reconstructions; the inverses are solved by fixed-point
iteration, which converges to ~1e-9 degrees (~0.1 mm) because the offset
field varies slowly (its Jacobian is within ~1e-4 of the identity).

Every function accepts Python floats (returns floats) or array-likes
(returns float64 arrays of the broadcast shape).

"Mainland China" is the customary bounding box (lon 72.004-137.8347,
lat 0.8293-55.8271) used by the reference implementations, so that data
converted elsewhere round-trips with ours; it also covers parts of
neighbouring countries, exactly as those implementations do.
"""
from __future__ import annotations

import math
from enum import StrEnum
from typing import Any, Literal, get_args, overload

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = [
    "DATUM_NAMES",
    "EARTH_RADIUS_M",
    "Datum",
    "DatumName",
    "bd09_to_gcj02",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "to_wgs84",
    "from_wgs84",
    "transform_geometry",
    "wgs84_to_gcj02",
]


class Datum(StrEnum):
    """Horizontal datum a position or geometry is expressed in."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


# The one spelling of the datum names, for request schemas (a Literal, so the
# OpenAPI document lists them) and for plain checks.
DatumName = Literal["wgs84", "gcj02", "bd09"]
DATUM_NAMES: frozenset[str] = frozenset(get_args(DatumName))
assert DATUM_NAMES == {d.value for d in Datum}, "DatumName and Datum must name the same datums"

# IUGG mean earth radius, m: for the spherical approximations (areas, haversine,
# a corridor's projection) that need ~1 %, not geodesy.
EARTH_RADIUS_M = 6_371_008.8


# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formulas.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
_BBOX = (72.004, 0.8293, 137.8347, 55.8271)
_TOL_DEG = 1e-10  # ~0.01 mm; iteration stops once every update is below this
_MAX_ITER = 30

ArrayLike = Any


def in_china(lon: ArrayLike, lat: ArrayLike) -> Any:
    """True where GCJ-02 applies an offset (the customary mainland bbox)."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    return (lon >= _BBOX[0]) & (lon <= _BBOX[2]) & (lat >= _BBOX[1]) & (lat <= _BBOX[3])


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS-84 (degrees) at a WGS-84 position, ignoring the bbox."""
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _wgs_to_gcj(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_delta(lon, lat)
    inside = in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def _gcj_to_bd(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj_approx(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 0.0065
    y = lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(forward, lon: np.ndarray, lat: np.ndarray, lon0: np.ndarray, lat0: np.ndarray):
    """Solve forward(w) = (lon, lat) for w by fixed-point iteration from w0."""
    wl, wt = lon0.copy(), lat0.copy()
    for _ in range(_MAX_ITER):
        fl, ft = forward(wl, wt)
        el, et = fl - lon, ft - lat
        wl = wl - el
        wt = wt - et
        if not (np.any(np.abs(el) > _TOL_DEG) or np.any(np.abs(et) > _TOL_DEG)):
            break
    return wl, wt


def _gcj_to_wgs(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inside = in_china(lon, lat)
    dlon, dlat = _gcj_delta(lon, lat)
    wl, wt = _invert(_wgs_to_gcj, lon, lat, lon - dlon, lat - dlat)
    return np.where(inside, wl, lon), np.where(inside, wt, lat)


def _bd_to_gcj(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gl, gt = _bd_to_gcj_approx(lon, lat)
    return _invert(_gcj_to_bd, lon, lat, gl, gt)


def _apply(fn, lon: ArrayLike, lat: ArrayLike):
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, np.float64), np.asarray(lat, np.float64))
    out_lon, out_lat = fn(lon_a, lat_a)
    if scalar:
        return float(out_lon), float(out_lat)
    return np.asarray(out_lon, np.float64), np.asarray(out_lat, np.float64)


@overload
def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]: ...
def wgs84_to_gcj02(lon, lat):
    """WGS-84 -> GCJ-02 (unchanged outside mainland China)."""
    return _apply(_wgs_to_gcj, lon, lat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike):
    """GCJ-02 -> WGS-84, exact inverse of :func:`wgs84_to_gcj02` to ~1e-9 deg."""
    return _apply(_gcj_to_wgs, lon, lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike):
    """GCJ-02 -> BD-09."""
    return _apply(_gcj_to_bd, lon, lat)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike):
    """BD-09 -> GCJ-02, exact inverse of :func:`gcj02_to_bd09` to ~1e-9 deg."""
    return _apply(_bd_to_gcj, lon, lat)


def _to_wgs(lon: np.ndarray, lat: np.ndarray, datum: Datum):
    if datum is Datum.WGS84:
        return lon, lat
    if datum is Datum.GCJ02:
        return _gcj_to_wgs(lon, lat)
    return _gcj_to_wgs(*_bd_to_gcj(lon, lat))


def _from_wgs(lon: np.ndarray, lat: np.ndarray, datum: Datum):
    if datum is Datum.WGS84:
        return lon, lat
    if datum is Datum.GCJ02:
        return _wgs_to_gcj(lon, lat)
    return _gcj_to_bd(*_wgs_to_gcj(lon, lat))


def to_wgs84(lon: ArrayLike, lat: ArrayLike, datum: str | Datum):
    """Convert positions declared in ``datum`` to WGS-84 (floats or arrays)."""
    d = Datum(datum)
    return _apply(lambda a, b: _to_wgs(a, b, d), lon, lat)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, datum: str | Datum):
    """Convert WGS-84 positions to ``datum`` (e.g. for a GCJ-02 base map)."""
    d = Datum(datum)
    return _apply(lambda a, b: _from_wgs(a, b, d), lon, lat)


def _geometry_transform(geom: BaseGeometry, fn) -> BaseGeometry:
    def coords_fn(xy: np.ndarray) -> np.ndarray:
        lon, lat = fn(xy[:, 0].astype(np.float64), xy[:, 1].astype(np.float64))
        return np.column_stack([lon, lat])

    return shapely.transform(geom, coords_fn)


def transform_geometry(geom: BaseGeometry, datum: str | Datum) -> BaseGeometry:
    """Return ``geom`` (lon/lat in ``datum``) converted to WGS-84."""
    d = Datum(datum)
    if d is Datum.WGS84:
        return geom
    return _geometry_transform(geom, lambda a, b: _to_wgs(a, b, d))


def transform_geometry_from_wgs84(geom: BaseGeometry, datum: str | Datum) -> BaseGeometry:
    """Return WGS-84 ``geom`` converted to ``datum`` (for display on a base map)."""
    d = Datum(datum)
    if d is Datum.WGS84:
        return geom
    return _geometry_transform(geom, lambda a, b: _from_wgs(a, b, d))
