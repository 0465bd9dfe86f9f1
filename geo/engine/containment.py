"""Accuracy-aware containment: is the whole accuracy circle inside, outside, or neither?

A fix (lon, lat, accuracy radius ``acc`` m) against a zone with boundary
distance ``d`` (metres, in the zone's local frame):

* INSIDE    -- the point is inside and d > acc (the whole circle is inside)
* OUTSIDE   -- the point is outside and d > acc
* UNCERTAIN -- d <= acc (the circle touches the boundary)

Polygons use GEOS prepared ``contains_xy`` and prepared ``dwithin`` on the
boundary (an indexed facet distance), never a full distance computation;
circles are pure numpy.  A cheap bounding-radius test decides most fixes
far from small zones without touching GEOS.
"""
from __future__ import annotations

from enum import IntEnum

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .persistence import Compliance
from .zones import GRID_MARGIN_M, KIND_CODE, Circle, FenceKind, ZoneGeometry, local_xy, zone_geometry

__all__ = ["Decision", "ZoneTable", "apply_leave_relaxation", "compliance", "decide", "decide_circles", "decide_zones"]


class Decision(IntEnum):
    """Accuracy-aware containment of one fix in one zone (0 is never emitted)."""

    INSIDE = 1
    OUTSIDE = 2
    UNCERTAIN = 3


_IN, _OUT, _UNC = np.int8(1), np.int8(2), np.int8(3)


def decide_circles(lon, lat, acc, clon, clat, radius) -> np.ndarray:
    """Elementwise decisions for fixes against circles (all arguments broadcast)."""
    x, y = local_xy(lon, lat, clon, clat)
    d = np.hypot(x, y)
    acc = np.asarray(acc, np.float64)
    radius = np.asarray(radius, np.float64)
    out = np.full(np.broadcast(d, acc, radius).shape, _UNC, dtype=np.int8)
    out[d + acc < radius] = _IN
    out[d - acc > radius] = _OUT
    return out


class ZoneTable:
    """Distinct zones as parallel arrays, so pairs can refer to them by index."""

    def __init__(self, zones: list[ZoneGeometry]) -> None:
        self.zones = zones
        self.lon0 = np.array([z.lon0 for z in zones], np.float64)
        self.lat0 = np.array([z.lat0 for z in zones], np.float64)
        self.radius = np.array([z.radius_m for z in zones], np.float64)
        self.polygon = np.empty(len(zones), object)
        self.polygon[:] = [z.polygon for z in zones]
        self.boundary = np.empty(len(zones), object)
        self.boundary[:] = [z.boundary for z in zones]
        self.gridded = np.array([i for i, z in enumerate(zones) if z.grid is not None], np.int64)

    def decide(self, zix: np.ndarray, lon: np.ndarray, lat: np.ndarray, acc: np.ndarray) -> np.ndarray:
        """Elementwise decisions for fix i against zone ``zones[zix[i]]``."""
        n = zix.shape[0]
        out = np.full(n, _OUT, dtype=np.int8)
        if n == 0:
            return out
        x, y = local_xy(lon, lat, self.lon0[zix], self.lat0[zix])
        todo = np.hypot(x, y) <= self.radius[zix] + acc  # elsewhere the circle cannot reach the zone
        for g in self.gridded:
            sel = np.flatnonzero(todo & (zix == g) & (acc <= GRID_MARGIN_M))
            if sel.size:
                state = self.zones[g].grid.lookup(x[sel], y[sel])
                hit = sel[state > 0]
                out[hit] = np.where(state[state > 0] == 1, _IN, _OUT)
                todo[hit] = False
        idx = np.flatnonzero(todo)
        if idx.size:
            zi, xs, ys = zix[idx], x[idx], y[idx]
            inside = shapely.contains_xy(self.polygon[zi], xs, ys)
            touching = shapely.dwithin(self.boundary[zi], shapely.points(xs, ys), acc[idx])
            out[idx] = np.where(touching, _UNC, np.where(inside, _IN, _OUT))
        return out


def decide_zones(zones: np.ndarray, lon, lat, acc) -> np.ndarray:
    """Elementwise decisions for fixes against an object array of :class:`ZoneGeometry`."""
    lon = np.asarray(lon, np.float64)
    lat = np.asarray(lat, np.float64)
    acc = np.broadcast_to(np.asarray(acc, np.float64), lon.shape)
    uid: dict[int, int] = {}
    distinct: list[ZoneGeometry] = []
    zix = np.empty(len(zones), np.int64)
    for i, z in enumerate(zones):
        j = uid.setdefault(id(z), len(distinct))
        if j == len(distinct):
            distinct.append(z)
        zix[i] = j
    return ZoneTable(distinct).decide(zix, lon, lat, acc)


def decide(zone: BaseGeometry | Circle | ZoneGeometry, lon, lat, acc) -> np.ndarray:
    """Decisions (int8 codes of :class:`Decision`) for many fixes against one zone."""
    lon = np.atleast_1d(np.asarray(lon, np.float64))
    lat = np.atleast_1d(np.asarray(lat, np.float64))
    acc = np.broadcast_to(np.asarray(acc, np.float64), lon.shape)
    if isinstance(zone, Circle):
        return decide_circles(lon, lat, acc, zone.lon, zone.lat, zone.radius_m)
    if not isinstance(zone, ZoneGeometry):
        zone = zone_geometry(zone)
    zones = np.empty(lon.shape[0], dtype=object)
    zones[:] = [zone] * lon.shape[0]
    return decide_zones(zones, lon, lat, acc)


_KIND_INCLUSION = np.array([False, True, False, True, True])  # indexed by kind code
_COMPLIANCE = np.zeros((5, 4), dtype=np.int8)  # [kind code, decision] -> Compliance
for _k in (1, 3, 4):
    _COMPLIANCE[_k, 1], _COMPLIANCE[_k, 2] = Compliance.COMPLIANT, Compliance.VIOLATING
_COMPLIANCE[2, 1], _COMPLIANCE[2, 2] = Compliance.VIOLATING, Compliance.COMPLIANT
_COMPLIANCE[1:, 3] = Compliance.UNCERTAIN


def compliance(kind: FenceKind | str, decision) -> np.ndarray:
    """Map decisions to :class:`Compliance` for one fence kind, without leave relaxation."""
    return _COMPLIANCE[KIND_CODE[FenceKind(kind)], np.asarray(decision, np.int64)]


def apply_leave_relaxation(
    fix_index: np.ndarray, kind_code: np.ndarray, decision: np.ndarray, n_fixes: int, *, relax_curfew: bool = True
) -> np.ndarray:
    """Per-(fix, fence) :class:`Compliance` codes with leave relaxation, vectorised.

    Inputs are parallel arrays over the (fix, fence) pairs that apply (fence
    valid at the fix time, curfew window active), all of one supervisee per
    fix.  Permitted areas and valid leave destinations together form the
    allowed area: a permitted fence is VIOLATING only if every inclusion
    zone of that fix is OUTSIDE, COMPLIANT if any is INSIDE, else UNCERTAIN.
    With ``relax_curfew`` a curfew is likewise satisfied by being inside a
    valid leave destination (a person on approved leave is not at home).
    Exclusion zones are never relaxed.  Leave-destination pairs themselves
    get NOT_APPLICABLE: they only relax other rules.
    """
    fix_index = np.asarray(fix_index, np.int64)
    kind_code = np.asarray(kind_code, np.int64)
    decision = np.asarray(decision, np.int64)
    status = _COMPLIANCE[kind_code, decision].copy()
    leave = kind_code == KIND_CODE[FenceKind.LEAVE_DESTINATION]
    status[leave] = Compliance.NOT_APPLICABLE

    def per_fix(mask: np.ndarray) -> np.ndarray:
        return np.bincount(fix_index[mask], minlength=n_fixes)

    incl = _KIND_INCLUSION[kind_code] & (kind_code != KIND_CODE[FenceKind.CURFEW])
    incl_any_in = per_fix(incl & (decision == Decision.INSIDE)) > 0
    incl_all_out = per_fix(incl & (decision == Decision.OUTSIDE)) == per_fix(incl)
    permitted = kind_code == KIND_CODE[FenceKind.PERMITTED]
    status[permitted] = _combine(incl_any_in, incl_all_out, fix_index[permitted])
    if relax_curfew and leave.any():
        has_leave = per_fix(leave) > 0
        leave_in = per_fix(leave & (decision == Decision.INSIDE)) > 0
        leave_all_out = per_fix(leave & (decision == Decision.OUTSIDE)) == per_fix(leave)
        cur = (kind_code == KIND_CODE[FenceKind.CURFEW]) & has_leave[fix_index]
        fi = fix_index[cur]
        status[cur] = np.where(
            (decision[cur] == Decision.INSIDE) | leave_in[fi],
            Compliance.COMPLIANT,
            np.where((decision[cur] == Decision.OUTSIDE) & leave_all_out[fi], Compliance.VIOLATING, Compliance.UNCERTAIN),
        )
    return status


def _combine(any_in: np.ndarray, all_out: np.ndarray, fi: np.ndarray) -> np.ndarray:
    return np.where(any_in[fi], Compliance.COMPLIANT, np.where(all_out[fi], Compliance.VIOLATING, Compliance.UNCERTAIN))
