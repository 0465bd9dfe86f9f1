"""Datum conversions: round trips, known offsets, and a real GCJ-02 boundary."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, shape

from geo.datum import (
    Datum,
    bd09_to_gcj02,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    transform_geometry,
    transform_geometry_from_wgs84,
    wgs84_to_gcj02,
)

REPO = Path(__file__).resolve().parents[2]


def boundary_path(adcode: str) -> Path:
    """The boundary file bundled with geo/ (it ships with the package)."""
    from geo.boundaries import bundled

    return bundled(adcode)


def metres(lon1, lat1, lon2, lat2):
    """Haversine distance (m); plenty for offsets of a few hundred metres."""
    r = 6371008.8
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))


china_lon = st.floats(73.5, 134.7)
china_lat = st.floats(18.2, 53.5)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_wgs_gcj_round_trip(lon: float, lat: float) -> None:
    g = wgs84_to_gcj02(lon, lat)
    back = gcj02_to_wgs84(*g)
    assert metres(lon, lat, *back) < 0.01
    # and the other way round
    w = gcj02_to_wgs84(lon, lat)
    assert metres(lon, lat, *wgs84_to_gcj02(*w)) < 0.01


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_bd_round_trips(lon: float, lat: float) -> None:
    assert metres(lon, lat, *bd09_to_gcj02(*gcj02_to_bd09(lon, lat))) < 0.01
    assert metres(lon, lat, *gcj02_to_bd09(*bd09_to_gcj02(lon, lat))) < 0.01
    for d in Datum:
        assert metres(lon, lat, *to_wgs84(*from_wgs84(lon, lat, d), d)) < 0.01


def test_quzhou_offset_magnitude() -> None:
    lon, lat = 118.9, 29.0
    glon, glat = wgs84_to_gcj02(lon, lat)
    d = metres(lon, lat, glon, glat)
    assert 500 < d < 600
    assert glon > lon and glat < lat  # east and south around Quzhou
    blon, blat = gcj02_to_bd09(glon, glat)
    assert 900 < metres(glon, glat, blon, blat) < 1300


def test_outside_china_unchanged() -> None:
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
    assert gcj02_to_wgs84(-74.0, 40.7) == (-74.0, 40.7)
    assert to_wgs84(151.2, -33.9, "gcj02") == (151.2, -33.9)


def test_vectorised_matches_scalar() -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(100, 125, 200)
    lat = rng.uniform(20, 45, 200)
    vl, vt = to_wgs84(lon, lat, "bd09")
    assert vl.shape == (200,)
    for i in range(0, 200, 37):
        assert (vl[i], vt[i]) == pytest.approx(to_wgs84(float(lon[i]), float(lat[i]), "bd09"), abs=1e-12)
    assert isinstance(to_wgs84(118.9, 29.0, Datum.WGS84)[0], float)
    with pytest.raises(ValueError):
        to_wgs84(118.9, 29.0, "gps")


def test_transform_geometry_point() -> None:
    p = transform_geometry(Point(118.9, 29.0), "gcj02")
    assert (p.x, p.y) == pytest.approx(gcj02_to_wgs84(118.9, 29.0), abs=1e-12)
    assert transform_geometry(p, "wgs84") is p


def test_real_boundary_round_trip() -> None:
    gcj = shape(json.loads(boundary_path("330803").read_text()))
    assert gcj.geom_type == "MultiPolygon"
    wgs = transform_geometry(gcj, Datum.GCJ02)
    assert wgs.is_valid
    c0 = shapely.get_coordinates(gcj)
    cw = shapely.get_coordinates(wgs)
    assert len(c0) == len(cw) > 2000
    offsets = metres(c0[:, 0], c0[:, 1], cw[:, 0], cw[:, 1])
    assert 500 < offsets.min() and offsets.max() < 650
    back = shapely.get_coordinates(transform_geometry_from_wgs84(wgs, Datum.GCJ02))
    err = metres(c0[:, 0], c0[:, 1], back[:, 0], back[:, 1])
    assert err.max() < 1.0
    assert err.max() < 0.01
    assert math.isclose(gcj.area, wgs.area, rel_tol=5e-3)  # the offset field is smooth, not a shift
