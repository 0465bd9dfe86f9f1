"""Curfew windows in Asia/Shanghai local time."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from geo.engine import CurfewWindow, curfew_active, local_clock, to_epoch

SH = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> float:
    return datetime(*args, tzinfo=SH).timestamp()


def test_local_clock_is_utc_plus_8() -> None:
    t = datetime(2024, 3, 4, 15, 30, tzinfo=timezone.utc).timestamp()  # Monday 23:30 in Shanghai
    wd, sod = local_clock(np.array([t]))
    assert wd[0] == 0 and sod[0] == 23 * 3600 + 30 * 60


def test_window_crossing_midnight() -> None:
    w = (CurfewWindow(time(22), time(6)),)
    times = [at(2024, 3, 4, 21, 59), at(2024, 3, 4, 22, 0), at(2024, 3, 5, 0, 0), at(2024, 3, 5, 5, 59, 59), at(2024, 3, 5, 6, 0)]
    assert curfew_active(w, times).tolist() == [False, True, True, True, False]


def test_weekdays_name_the_starting_day() -> None:
    weeknights = (CurfewWindow(time(22), time(6), frozenset({0, 1, 2, 3, 4})),)  # Mon-Fri evenings
    # 2024-03-08 is a Friday; Saturday 05:00 belongs to Friday's window
    assert curfew_active(weeknights, [at(2024, 3, 8, 23), at(2024, 3, 9, 5)]).tolist() == [True, True]
    # Saturday 23:00 and Monday 05:00 (Sunday's night) are free
    assert curfew_active(weeknights, [at(2024, 3, 9, 23), at(2024, 3, 11, 5)]).tolist() == [False, False]


def test_same_day_window_and_union() -> None:
    ws = (CurfewWindow(time(12), time(13, 30)), CurfewWindow(time(23), time(1)))
    got = curfew_active(ws, [at(2024, 1, 1, 11, 59), at(2024, 1, 1, 12, 45), at(2024, 1, 1, 13, 30), at(2024, 1, 2, 0, 30)])
    assert got.tolist() == [False, True, False, True]


def test_matches_zoneinfo_over_a_year() -> None:
    w = (CurfewWindow(time(22, 15), time(6, 45), frozenset({5, 6})),)
    start = datetime(2023, 12, 25, tzinfo=timezone.utc)
    ts = [start + timedelta(minutes=37 * i) for i in range(15000)]
    expect = []
    for dt in ts:
        loc = dt.astimezone(SH)
        m = loc.hour * 60 + loc.minute
        prev = (loc.weekday() + 6) % 7
        expect.append((loc.weekday() in (5, 6) and m >= 22 * 60 + 15) or (prev in (5, 6) and m < 6 * 60 + 45))
    assert curfew_active(w, [d.timestamp() for d in ts]).tolist() == expect


def test_general_zone_with_dst_falls_back_to_zoneinfo() -> None:
    ny = "America/New_York"
    t = datetime(2024, 7, 1, 3, 0, tzinfo=timezone.utc).timestamp()  # 23:00 EDT on Sunday 30 June
    wd, sod = local_clock(np.array([t]), ny)
    assert wd[0] == 6 and sod[0] == 23 * 3600


def test_validation() -> None:
    with pytest.raises(ValueError):
        CurfewWindow(time(6), time(6))
    with pytest.raises(ValueError):
        CurfewWindow(time(6), time(7), frozenset({7}))
    with pytest.raises(ValueError):
        to_epoch(datetime(2024, 1, 1))
