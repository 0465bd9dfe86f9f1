"""Accuracy-aware containment for circles, small polygons and big (gridded) zones."""
from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Polygon

from geo.engine import Circle, Decision, compliance, decide, distance_to_boundary_m, local_xy, zone_geometry
from geo.boundaries import bundled_wgs84
from geo.engine.zones import local_to_lonlat

IN, OUT, UNC = Decision.INSIDE, Decision.OUTSIDE, Decision.UNCERTAIN
LON0, LAT0 = 118.9, 29.0


def offset(dx: float, dy: float, lon0: float = LON0, lat0: float = LAT0) -> tuple[float, float]:
    lon, lat = local_to_lonlat(np.array(dx), np.array(dy), lon0, lat0)
    return float(lon), float(lat)


def test_circle_decisions() -> None:
    c = Circle(LON0, LAT0, 100.0)
    pts = [offset(0, 0), offset(60, 0), offset(0, -150), offset(0, 250)]
    lon, lat = np.array(pts).T
    assert decide(c, lon, lat, [30, 50, 30, 100]).tolist() == [IN, UNC, OUT, OUT]
    assert distance_to_boundary_m(c, lon[:1], lat[:1])[0] == pytest.approx(-100, abs=1e-6)


def test_square_decisions_and_signed_distance() -> None:
    corners = [offset(x, y) for x, y in [(-500, -500), (500, -500), (500, 500), (-500, 500)]]
    sq = Polygon(corners)
    lon, lat = np.array([offset(0, 0), offset(450, 0), offset(560, 0), offset(700, 0)]).T
    assert decide(sq, lon, lat, [40, 60, 40, 40]).tolist() == [IN, UNC, OUT, OUT]
    d = distance_to_boundary_m(sq, lon, lat)
    assert d == pytest.approx([-500, -50, 60, 200], abs=0.05)


def test_local_frame_is_metric() -> None:
    # 1 degree of latitude at 29N is 110,836 m on WGS-84; 0.01 deg of longitude ~ 974.4 m
    x, y = local_xy(LON0, LAT0 + 0.01, LON0, LAT0)
    assert y == pytest.approx(1108.356, abs=0.01) and abs(x) < 1e-9
    x, y = local_xy(LON0 + 0.01, LAT0, LON0, LAT0)
    assert x == pytest.approx(974.4, abs=0.5)


def test_grid_shortcut_agrees_with_exact_geometry() -> None:
    county = bundled_wgs84("330803")
    zone = zone_geometry(county)
    assert zone.grid is not None and zone_geometry(county) is zone
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = county.bounds
    lon = rng.uniform(minx - 0.05, maxx + 0.05, 20000)
    lat = rng.uniform(miny - 0.05, maxy + 0.05, 20000)
    acc = rng.uniform(0, 300, 20000)
    got = decide(zone, lon, lat, acc)
    d = distance_to_boundary_m(zone, lon, lat)
    expect = np.where(np.abs(d) <= acc, UNC, np.where(d < 0, IN, OUT))
    clear = np.abs(np.abs(d) - acc) > 1e-6
    assert (got[clear] == expect[clear]).all()
    assert {IN, OUT, UNC} <= set(got.tolist())


def test_compliance_mapping() -> None:
    assert compliance("permitted", [IN, OUT, UNC]).tolist() == [1, 2, 3]
    assert compliance("exclusion", [IN, OUT, UNC]).tolist() == [2, 1, 3]


def test_invalid_geometry_is_refused() -> None:
    bowtie = Polygon([(118.9, 29.0), (118.91, 29.01), (118.91, 29.0), (118.9, 29.01)])
    with pytest.raises(ValueError, match="invalid"):
        zone_geometry(bowtie)
    with pytest.raises(ValueError):
        Circle(LON0, LAT0, 0)
