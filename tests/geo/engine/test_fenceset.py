"""Batch judgement: validity, curfew activity, leave relaxation, and a week of jitter."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon

from geo.engine import (
    Circle,
    Compliance,
    CurfewWindow,
    Decision,
    Fence,
    FenceKind,
    FenceSet,
    distance_to_boundary_m,
    episodes,
)
from geo.boundaries import bundled_wgs84
from geo.engine.zones import local_to_lonlat

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2024, 3, 1, tzinfo=SH)
LON0, LAT0 = 118.9, 29.0
IN, OUT, UNC = Decision.INSIDE, Decision.OUTSIDE, Decision.UNCERTAIN
C, V, U, NA = Compliance.COMPLIANT, Compliance.VIOLATING, Compliance.UNCERTAIN, Compliance.NOT_APPLICABLE


def pt(dx: float, dy: float) -> tuple[float, float]:
    lon, lat = local_to_lonlat(np.array(dx), np.array(dy), LON0, LAT0)
    return float(lon), float(lat)


def square(cx: float, cy: float, half: float) -> Polygon:
    return Polygon([pt(cx + sx * half, cy + sy * half) for sx, sy in [(-1, -1), (1, -1), (1, 1), (-1, 1)]])


AREA = square(0, 0, 5000)  # permitted: 10 km square
DEST = square(20000, 0, 2000)  # a leave destination 20 km east
HOME = Circle(*pt(100, 100), 100.0)
SCHOOL = Circle(*pt(-2000, 0), 300.0)
NIGHTS = (CurfewWindow(time(22), time(6)),)


def fence(fid: int, kind: FenceKind, geom, start=T0, end=None, sid: int = 7, **kw) -> Fence:
    return Fence(fid, 1, sid, kind, geom, start, end, **kw)


def judge(fs: FenceSet, when: datetime, xy: tuple[float, float], acc: float = 20.0, sid: int = 7):
    lon, lat = pt(*xy)
    return fs.judge([sid], [when.timestamp()], [lon], [lat], [acc])


def test_pairs_validity_and_exclusion() -> None:
    fs = FenceSet(
        [
            fence(1, FenceKind.PERMITTED, AREA),
            fence(2, FenceKind.EXCLUSION, SCHOOL, end=T0 + timedelta(days=1)),
            fence(3, FenceKind.PERMITTED, AREA, sid=8),
        ]
    )
    j = judge(fs, T0 + timedelta(hours=12), (-2000, 100))
    assert j.per_fix() == [[(1, 1, IN), (2, 1, IN)]]
    assert j.status.tolist() == [C, V]
    j = judge(fs, T0 + timedelta(days=2), (-2000, 100))  # exclusion expired
    assert j.per_fix() == [[(1, 1, IN)]]
    assert judge(fs, T0 - timedelta(seconds=1), (0, 0)).per_fix() == [[]]  # not yet valid
    assert judge(fs, T0, (0, 0), sid=99).per_fix() == [[]]  # unknown supervisee
    assert [f.id for f in fs.for_supervisee(7)] == [1, 2]


def test_curfew_applies_only_in_window() -> None:
    fs = FenceSet([fence(1, FenceKind.CURFEW, HOME, curfew=NIGHTS)])
    evening = datetime(2024, 3, 5, 21, 0, tzinfo=SH)
    assert judge(fs, evening, (3000, 0)).per_fix() == [[]]
    j = judge(fs, evening + timedelta(hours=2), (3000, 0))
    assert j.per_fix() == [[(1, 1, OUT)]] and j.status.tolist() == [V]
    assert judge(fs, evening + timedelta(hours=8), (100, 100)).status.tolist() == [C]
    assert judge(fs, evening + timedelta(hours=9, minutes=1), (100, 100)).per_fix() == [[]]


def test_leave_relaxation() -> None:
    leave_from, leave_to = T0 + timedelta(days=3), T0 + timedelta(days=5)
    fs = FenceSet(
        [
            fence(1, FenceKind.PERMITTED, AREA),
            fence(2, FenceKind.LEAVE_DESTINATION, DEST, leave_from, leave_to),
            fence(3, FenceKind.CURFEW, HOME, curfew=NIGHTS),
            fence(4, FenceKind.EXCLUSION, Circle(*pt(20000, 0), 200.0)),
        ]
    )
    night_on_leave = datetime(2024, 3, 4, 23, 0, tzinfo=SH)
    noon_on_leave = datetime(2024, 3, 4, 12, 0, tzinfo=SH)
    # at the destination: permitted and curfew relaxed, exclusion is not
    j = judge(fs, night_on_leave, (20100, 0), acc=30)
    assert j.per_fix() == [[(1, 1, OUT), (2, 1, IN), (3, 1, OUT), (4, 1, IN)]]
    assert j.status.tolist() == [C, NA, C, V]
    # somewhere else during leave: outside both -> violation
    j = judge(fs, noon_on_leave, (40000, 0))
    assert j.status.tolist() == [V, NA, C]
    # straddling the destination edge: uncertain, not a violation
    j = judge(fs, noon_on_leave, (18000, 0), acc=50)
    assert j.per_fix()[0][:2] == [(1, 1, OUT), (2, 1, UNC)] and j.status.tolist()[0] == U
    # at home during leave is fine too
    assert judge(fs, night_on_leave, (100, 100)).status.tolist() == [C, NA, C, C]
    # after the leave: the destination is no longer allowed
    j = judge(fs, leave_to + timedelta(hours=12), (20100, 0))
    assert [p[0] for p in j.per_fix()[0]] == [1, 4] and j.status.tolist() == [V, V]
    # curfew relaxation can be switched off
    strict = FenceSet(fs.fences, leave_relaxes_curfew=False)
    assert judge(strict, night_on_leave, (20100, 0), acc=30).status.tolist() == [C, NA, V, V]


def test_batch_over_many_supervisees_matches_single_calls() -> None:
    rng = np.random.default_rng(3)
    fences = []
    for s in range(50):
        fences += [
            fence(4 * s + 1, FenceKind.PERMITTED, AREA, sid=s),
            fence(4 * s + 2, FenceKind.CURFEW, Circle(*pt(rng.uniform(-3000, 3000), 0), 100.0), sid=s, curfew=NIGHTS),
            fence(4 * s + 3, FenceKind.EXCLUSION, square(rng.uniform(-3000, 3000), 500, 300), sid=s),
            fence(4 * s + 4, FenceKind.EXCLUSION, SCHOOL, sid=s),
        ]
    fs = FenceSet(fences)
    n = 500
    sids = rng.integers(-2, 52, n)
    t = T0.timestamp() + rng.uniform(0, 86400 * 2, n)
    lon, lat = local_to_lonlat(rng.normal(0, 4000, n), rng.normal(0, 2000, n), LON0, LAT0)
    acc = rng.uniform(5, 150, n)
    batch = fs.judge(sids, t, lon, lat, acc).per_fix()
    for i in range(0, n, 7):
        one = fs.judge(sids[i : i + 1], t[i : i + 1], lon[i : i + 1], lat[i : i + 1], acc[i : i + 1])
        assert one.per_fix()[0] == batch[i]
    assert sum(len(b) for b in batch) > n
    with pytest.raises(ValueError):
        fs.judge([1], [0.0], [LON0], [LAT0], [-1.0])


def test_concatenated_sets_judge_as_one_built_from_all_fences() -> None:
    """FenceSet.concat (the pipeline's one call per wave of phones) decides every pair
    as a set built from all the fences does: validity, curfew windows, circles,
    polygons, gridded zones and leave relaxation included."""
    rng = np.random.default_rng(5)
    area = shapely.intersection(bundled_wgs84("330803"), shapely.box(118.6, 28.7, 119.2, 29.3))
    per_sup = []
    for s in range(30):
        fences = [fence(10 * s + 1, FenceKind.PERMITTED, AREA if s % 3 else area, sid=s)]
        if s % 4:
            fences.append(fence(10 * s + 2, FenceKind.CURFEW, Circle(*pt(rng.uniform(-3000, 3000), 0), 100.0),
                                sid=s, curfew=NIGHTS))
        fences.append(fence(10 * s + 3, FenceKind.EXCLUSION, square(rng.uniform(-3000, 3000), 500, 300), sid=s,
                            end=T0 + timedelta(days=1) if s % 5 == 0 else None))
        if s % 6 == 0:
            fences.append(fence(10 * s + 4, FenceKind.LEAVE_DESTINATION, DEST, T0 + timedelta(hours=6), T0 + timedelta(days=1),
                                sid=s))
        per_sup.append(fences)
    sets = [FenceSet(f) for f in per_sup] + [FenceSet([])]
    rng.shuffle(sets)
    joined = FenceSet.concat(sets)
    whole = FenceSet([f for fs in per_sup for f in fs])
    n = 800
    sids = rng.integers(-1, 31, n)
    t = T0.timestamp() + rng.uniform(0, 86400 * 2, n)
    lon, lat = local_to_lonlat(rng.normal(5000, 9000, n), rng.normal(0, 3000, n), LON0, LAT0)
    acc = rng.uniform(5, 150, n)
    a, b = joined.judge(sids, t, lon, lat, acc), whole.judge(sids, t, lon, lat, acc)
    assert a.per_fix() == b.per_fix()
    assert a.status.tolist() == b.status.tolist() and a.fence_id.tolist() == b.fence_id.tolist()
    assert {Decision(d) for d in a.decision.tolist()} == {IN, OUT, UNC}
    assert FenceSet.concat([]).judge([1], [0.0], [LON0], [LAT0], [5.0]).fix.size == 0
    with pytest.raises(ValueError):
        FenceSet.concat([sets[0], sets[0]])


def _week_of_jitter(home_lon: float, home_lat: float, rng: np.random.Generator):
    n = 7 * 24 * 12  # every 5 minutes for a week
    t = T0.timestamp() + 300.0 * np.arange(n)
    acc = rng.uniform(20, 80, n)
    # Phone accuracy is roughly a 68% radius: true error ~ 2-D normal with sigma = acc / 1.5.
    err = rng.normal(0, 1, (n, 2)) * (acc / 1.5)[:, None]
    lon, lat = local_to_lonlat(err[:, 0], err[:, 1], home_lon, home_lat)
    return t, lon, lat, acc


def test_stationary_jitter_near_a_real_boundary() -> None:
    county = bundled_wgs84("330803")
    ring = np.asarray(max(county.geoms, key=lambda g: g.area).exterior.coords)
    # home 30 m inside the middle of the longest boundary edge
    lengths = np.hypot(*np.diff(ring, axis=0).T)
    k = int(np.argmax(lengths))
    a, b = ring[k], ring[k + 1]
    mid = (a + b) / 2
    normal = np.array([-(b - a)[1], (b - a)[0]]) / np.hypot(*(b - a))
    step = 30 / 111_000  # ~30 m in degrees; the exact value is measured below
    inward = 1 if shapely.contains_xy(county, *(mid + normal * step)) else -1
    home = mid + inward * normal * step
    d_home = distance_to_boundary_m(county, home[0], home[1])[0]
    assert -40 < d_home < -20
    outside = home - inward * normal * step * (500 / 30)  # the same home shifted ~500 m outwards
    assert 400 < distance_to_boundary_m(county, outside[0], outside[1])[0] < 520

    fs = FenceSet([fence(1, FenceKind.PERMITTED, county, sid=1)])
    rule = fs.fences[0].persistence
    rng = np.random.default_rng(20240301)
    results = {}
    for name, (hl, ht) in {"home": home, "outside": outside}.items():
        t, lon, lat, acc = _week_of_jitter(hl, ht, rng)
        j = fs.judge(np.ones(t.size, np.int64), t, lon, lat, acc)
        obs = j.observations(t, np.arange(t.size))[1]
        results[name] = (episodes(obs, rule), np.bincount(j.decision, minlength=4))
    eps_home, counts_home = results["home"]
    assert counts_home[UNC] > 100  # the circle often straddles the boundary...
    assert eps_home == []  # ...yet no violation is ever opened
    eps_out, counts_out = results["outside"]
    assert len(eps_out) == 1 and eps_out[0].closed_at is None
    assert eps_out[0].opened_at == T0.timestamp()
