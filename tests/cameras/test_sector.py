"""The coverage sector at its edges, against distances worked out by hand.

Fixes are placed at a bearing and distance from the camera in its local plane
(``local_to_lonlat``: millimetres within a few km), and every margin below is
at least 0.1 m, so the expectation is the hand-computed one, not a recording.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from geo.engine.sector import sector_distance_m, sees
from geo.engine.zones import local_to_lonlat

CAM = (118.87, 28.94)


def at(bearing: float, distance: float) -> tuple[float, float]:
    b = math.radians(bearing)
    lon, lat = local_to_lonlat(distance * math.sin(b), distance * math.cos(b), *CAM)
    return float(lon), float(lat)


def see(heading, fov, rng, bearing, distance, acc=0.0) -> bool:
    return bool(sees(*CAM, heading, fov, rng, *at(bearing, distance), acc))


def test_just_inside_and_outside_the_angle():
    # heading 0, fov 90: edges at ±45°.
    assert see(0, 90, 100, 44.0, 50)
    assert see(0, 90, 100, -44.0 % 360, 50)
    assert not see(0, 90, 100, 46.0, 50)
    assert not see(0, 90, 100, 314.0, 50)
    # 1° outside at 50 m: 50·sin 1° = 0.8726 m from the edge.
    gap = 50 * math.sin(math.radians(1))
    assert not see(0, 90, 100, 46.0, 50, acc=gap - 0.1)
    assert see(0, 90, 100, 46.0, 50, acc=gap + 0.1)


def test_just_inside_and_outside_the_range():
    assert see(90, 60, 100, 90, 99.9)
    assert not see(90, 60, 100, 90, 100.2)
    assert not see(90, 60, 100, 90, 101.0, acc=0.9)
    assert see(90, 60, 100, 90, 101.0, acc=1.1)


def test_beyond_a_corner_the_distance_is_to_the_edge_end():
    # heading 0, fov 90, range 100: the corner is at bearing 45°, 100 m.
    # A point at bearing 60°, 110 m: its distance to the corner, by the law of cosines.
    d = math.sqrt(100**2 + 110**2 - 2 * 100 * 110 * math.cos(math.radians(15)))
    gap, dist = sector_distance_m(*CAM, 0, 90, 100, *at(60, 110))
    assert float(gap) == pytest.approx(d, abs=0.01)
    assert float(dist) == pytest.approx(110, abs=0.01)


def test_heading_across_north():
    # heading 350, fov 40: from 330° through north to 10°.
    assert see(350, 40, 100, 5, 50)
    assert see(350, 40, 100, 9.5, 50)
    assert see(350, 40, 100, 331, 50)
    assert see(350, 40, 100, 0, 50)
    assert not see(350, 40, 100, 11, 50)
    assert not see(350, 40, 100, 329, 50)
    assert not see(350, 40, 100, 170, 50)
    # 15° is 5° past the edge: 50·sin 5° = 4.358 m.
    assert not see(350, 40, 100, 15, 50, acc=4.2)
    assert see(350, 40, 100, 15, 50, acc=4.5)


def test_a_dome_sees_every_direction_within_its_range():
    for bearing in (0, 90, 179, 180, 270, 359.9):
        assert see(123, 360, 100, bearing, 99.8)
        assert not see(123, 360, 100, bearing, 100.2)
    assert see(123, 360, 100, 200, 101.0, acc=1.1)
    assert not see(123, 360, 100, 200, 101.0, acc=0.9)


def test_behind_the_camera_the_circle_must_reach_the_camera():
    # Directly behind (bearing 180) a 90° camera at 20 m: nearest point is the camera itself.
    assert not see(0, 90, 100, 180, 20, acc=19.8)
    assert see(0, 90, 100, 180, 20, acc=20.2)
    # On the camera itself: seen whatever the heading.
    assert bool(sees(*CAM, 0, 10, 50, *CAM, 0.0))


def test_wider_than_half_a_circle():
    # fov 270 heading 0: blind only between 135° and 225°.
    assert see(0, 270, 100, 130, 50)
    assert see(0, 270, 100, 230, 50)
    assert not see(0, 270, 100, 180, 50)
    # at 180°, 50 m: 45° from either edge, 50·sin 45° = 35.36 m.
    assert not see(0, 270, 100, 180, 50, acc=35.2)
    assert see(0, 270, 100, 180, 50, acc=35.5)


def test_broadcasts_many_cameras_against_one_fix():
    lon, lat = at(10, 50)
    cams_lon = np.full(4, CAM[0])
    cams_lat = np.full(4, CAM[1])
    got = sees(cams_lon, cams_lat, np.array([0, 90, 180, 0]), np.array([90, 90, 90, 10]),
               np.array([100, 100, 100, 100]), lon, lat, 0.0)
    assert got.tolist() == [True, False, False, False]
