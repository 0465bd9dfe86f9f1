from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.ingest.checks import haversine_m, implied_speed_mps, suspicion_flags
from geo.ingest.fix import DecodedFix

NOW = datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
LIMITS = dict(max_speed_mps=70.0, max_accuracy_m=100.0)


def fix(**kw) -> DecodedFix:
    base = dict(client_fix_id=None, time=NOW, lat=28.97, lon=118.87, datum="wgs84", accuracy_m=10.0)
    return DecodedFix(**{**base, **kw})


def test_haversine_known_distances():
    assert haversine_m(0, 0, 0, 1) == pytest.approx(111_195, rel=1e-4)  # one degree of equator
    assert haversine_m(28.97, 118.87, 28.97, 118.87) == 0
    assert haversine_m(0, 179.9, 0, -179.9) == pytest.approx(22_239, rel=1e-3)  # across the antimeridian
    assert haversine_m(90, 0, -90, 0) == pytest.approx(20_015_115, rel=1e-4)


def test_clean_fix_has_no_flags():
    assert suspicion_flags(fix(), now=NOW, previous=(NOW - timedelta(minutes=1), 28.971, 118.87), **LIMITS) == set()


def test_future_allows_a_minute_of_clock_skew():
    assert suspicion_flags(fix(time=NOW + timedelta(seconds=60)), now=NOW, previous=None, **LIMITS) == set()
    assert suspicion_flags(fix(time=NOW + timedelta(seconds=61)), now=NOW, previous=None, **LIMITS) == {"future"}


def test_speed_is_order_agnostic():
    far = (28.97 + 0.1, 118.87)  # ~11 km
    before = (NOW - timedelta(seconds=60), *far)
    after = (NOW + timedelta(seconds=60), *far)
    assert "speed" in suspicion_flags(fix(), now=NOW + timedelta(hours=1), previous=before, **LIMITS)
    assert "speed" in suspicion_flags(fix(), now=NOW + timedelta(hours=1), previous=after, **LIMITS)
    slow = (NOW - timedelta(hours=1), *far)
    assert "speed" not in suspicion_flags(fix(), now=NOW, previous=slow, **LIMITS)


def test_accuracy_radii_absorb_jitter_and_same_second_fixes_do_not_divide_by_zero():
    # Two fixes in the same second, 60 m apart, each +-40 m: no evidence of movement at all.
    jitter = (NOW, 28.97 + 60 / 111_195, 118.87, 40.0)
    assert implied_speed_mps(fix(accuracy_m=40.0), jitter) == 0
    # Without radii the same pair would need 60 m/s (dt floored at 1 s).
    assert implied_speed_mps(fix(accuracy_m=None), jitter[:3]) == pytest.approx(60, rel=1e-3)
    teleport = (NOW, 28.97 + 1, 118.87)
    assert "speed" in suspicion_flags(fix(), now=NOW, previous=teleport, **LIMITS)


def test_accuracy_flag_for_poor_or_missing_radius():
    assert suspicion_flags(fix(accuracy_m=100.0), now=NOW, previous=None, **LIMITS) == set()
    assert suspicion_flags(fix(accuracy_m=100.5), now=NOW, previous=None, **LIMITS) == {"accuracy"}
    assert suspicion_flags(fix(accuracy_m=None), now=NOW, previous=None, **LIMITS) == {"accuracy"}


def test_mock_and_tamper():
    flags = suspicion_flags(fix(mock=True, tamper=True), now=NOW, previous=None, **LIMITS)
    assert flags == {"mock", "tamper"}


coords = st.tuples(st.floats(-90, 90), st.floats(-180, 180))


@given(coords, coords, st.integers(-86_400, 86_400))
def test_speed_check_is_symmetric(a, b, dt):
    fa = fix(lat=a[0], lon=a[1], time=NOW)
    fb = fix(lat=b[0], lon=b[1], time=NOW + timedelta(seconds=dt))
    ab = implied_speed_mps(fa, (fb.time, fb.lat, fb.lon, fb.accuracy_m))
    ba = implied_speed_mps(fb, (fa.time, fa.lat, fa.lon, fa.accuracy_m))
    assert ab == pytest.approx(ba, rel=1e-9, abs=1e-9)
