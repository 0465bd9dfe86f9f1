"""Plan rules as pure values: windows at the right local times, across midnight, cadence per kind."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from checkins.plans import PlanKind, SlotKind, Window, first_report_day, plan_rule, random_spot_slots, slots
from core.localtime import LOCAL_TZ


def rule(kind: PlanKind, **kw):
    args = dict(daily_window="09:00-11:00", report_window="09:00-17:00", report_weekday=0,
                fixed_windows=["08:00-09:00", "12:00-13:00", "23:30-00:30"], spot_per_week=2,
                waking_hours="08:00-21:00", spot_minutes=60)
    return plan_rule(kind, **{**args, **kw})


def local(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL_TZ)


def test_window_across_midnight_closes_next_local_day():
    opens, closes = Window.parse("22:00-01:00").on(date(2026, 1, 31))
    assert opens == local(2026, 1, 31, 22) and closes == local(2026, 2, 1, 1)
    # in UTC: 14:00 → 17:00 on the 31st
    assert opens.astimezone(UTC) == datetime(2026, 1, 31, 14, tzinfo=UTC)
    assert closes.astimezone(UTC) == datetime(2026, 1, 31, 17, tzinfo=UTC)


def test_strict_daily_window_and_weekly_report_in_local_time():
    r = rule(PlanKind.strict)
    found = slots(r, anchor=first_report_day(r, date(2026, 1, 5)), start=local(2026, 1, 5), end=local(2026, 1, 19))
    daily = [s for s in found if s.kind == SlotKind.daily]
    reports = [s for s in found if s.kind == SlotKind.report]
    assert len(daily) == 14 and len(reports) == 2
    assert all(s.opens_at.astimezone(LOCAL_TZ).time() == time(9) for s in daily)
    assert all(s.closes_at - s.opens_at == timedelta(hours=2) for s in daily)
    assert [s.opens_at.astimezone(LOCAL_TZ).date() for s in reports] == [date(2026, 1, 5), date(2026, 1, 12)]
    # 09:00 Shanghai is 01:00 UTC
    assert daily[0].opens_at.astimezone(UTC).hour == 1


def test_ordinary_every_two_weeks_from_its_first_report_day_and_lenient_monthly():
    ordinary = rule(PlanKind.ordinary)
    start = local(2026, 1, 7)  # a Wednesday: the first 报到 is the next Monday
    anchor = first_report_day(ordinary, start.date())
    days = [s.opens_at.date() for s in slots(ordinary, anchor=anchor, start=start, end=local(2026, 3, 1))]
    assert days == [date(2026, 1, 12), date(2026, 1, 26), date(2026, 2, 9), date(2026, 2, 23)]
    lenient = rule(PlanKind.lenient)
    days = [s.opens_at.date() for s in slots(lenient, anchor=anchor, start=start, end=local(2026, 5, 1))]
    assert days == [date(2026, 2, 2), date(2026, 3, 2), date(2026, 4, 6)]  # first Monday of each month


def test_fixed_windows_include_the_one_across_midnight_and_a_window_open_at_the_start():
    r = rule(PlanKind.fixed_windows)
    found = slots(r, anchor=date(2026, 1, 5), start=local(2026, 1, 5), end=local(2026, 1, 6))
    assert [(s.kind, s.opens_at.astimezone(LOCAL_TZ).time()) for s in found] == [
        (SlotKind.window, time(8)), (SlotKind.window, time(12)), (SlotKind.window, time(23, 30))]
    assert found[-1].closes_at == local(2026, 1, 6, 0, 30)


def test_random_spot_checks_lie_in_waking_hours_and_have_stable_keys():
    r = rule(PlanKind.strict, spot_per_week=3)
    monday = date(2026, 1, 5)
    for seed in range(50):
        found = random_spot_slots(r, week_monday=monday, not_before=local(2026, 1, 7, 15), rng=random.Random(seed))
        assert [s.key for s in found] == ["spot:2026-01-05:0", "spot:2026-01-05:1", "spot:2026-01-05:2"]
        for s in found:
            o, c = s.opens_at.astimezone(LOCAL_TZ), s.closes_at.astimezone(LOCAL_TZ)
            assert o >= local(2026, 1, 7, 15) and c - o == timedelta(minutes=60)
            assert time(8) <= o.time() and c.time() <= time(21) and o.date() == c.date()
