"""Camera coverage: does a camera's field-of-view sector meet a fix's accuracy circle?

A camera is a point with a heading (degrees clockwise from north, as
OpenStreetMap's ``camera:direction``), a horizontal field of view ``fov``
(360 for a dome) and a useful range. Its sector is the closed set of points
within ``range_m`` whose bearing lies within ``fov / 2`` of the heading. A fix
with accuracy radius ``acc`` may be seen when the distance from the fix to the
sector is at most ``acc`` (the circle touches or overlaps the sector).

Worked in the engine's local tangent plane centred on each camera
(``zones.local_xy``), so every camera broadcasts against one fix (or many) in
plain numpy: no GEOS polygon per camera, no database.

Distance from a point P to the sector, with d = |P| and δ its angle off the
heading: inside the angle, ``max(0, d - range)``; outside it, the nearest
point is on one of the two edge segments (the arc's nearest point would be in
P's own direction, which is outside the angle), so the distance is the
smaller of the distances to the segments [0, range·u±]. This also holds for a
field of view wider than 180° (a non-convex sector).
"""
from __future__ import annotations

import numpy as np

from .zones import local_xy

__all__ = ["bearing_deg", "sector_distance_m", "sees"]


def bearing_deg(x, y) -> np.ndarray:
    """Bearing of local-plane offsets, degrees clockwise from north in [0, 360)."""
    return np.degrees(np.arctan2(x, y)) % 360.0


def _segment_distance(px, py, ux, uy, length) -> np.ndarray:
    t = np.clip(px * ux + py * uy, 0.0, length)
    return np.hypot(px - t * ux, py - t * uy)


def sector_distance_m(cam_lon, cam_lat, heading, fov, range_m, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """(distance from each fix to each camera's sector, distance to the camera itself), metres; broadcasts."""
    x, y = local_xy(lon, lat, cam_lon, cam_lat)
    heading = np.asarray(heading, np.float64)
    half = np.asarray(fov, np.float64) / 2.0
    range_m = np.asarray(range_m, np.float64)
    d = np.hypot(x, y)
    # Angle off the heading in [0, 180]. A fix on the camera itself (within a
    # millimetre: the projection of the origin is not exactly 0) is in every direction.
    off = np.abs((bearing_deg(x, y) - heading + 180.0) % 360.0 - 180.0)
    within = (off <= half) | (half >= 180.0) | (d < 1e-3)
    radial = np.maximum(d - range_m, 0.0)
    edges = []
    for sign in (-1.0, 1.0):
        a = np.radians(heading + sign * half)
        edges.append(_segment_distance(x, y, np.sin(a), np.cos(a), range_m))
    out = np.where(within, radial, np.minimum(edges[0], edges[1]))
    out = np.where(d < 1e-3, 0.0, out)
    return out, d


def sees(cam_lon, cam_lat, heading, fov, range_m, lon, lat, accuracy_m=0.0) -> np.ndarray:
    """True where a camera's sector meets the fix's accuracy circle (touching counts); broadcasts."""
    gap, _ = sector_distance_m(cam_lon, cam_lat, heading, fov, range_m, lon, lat)
    return gap <= np.asarray(accuracy_m, np.float64)
