"""Calendar months and reminders, as plain functions."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.localtime import LOCAL_TZ
from orders.rules import add_months, check_period, due_reminders, latest_end


def local(*a) -> datetime:
    return datetime(*a, tzinfo=LOCAL_TZ)


def test_three_calendar_months_clamp_to_the_last_day_of_the_month():
    assert add_months(local(2026, 11, 30, 10, 0), 3) == local(2027, 2, 28, 10, 0)
    assert add_months(local(2027, 11, 30, 10, 0), 3) == local(2028, 2, 29, 10, 0)  # leap year
    assert add_months(local(2026, 1, 31), 1) == local(2026, 2, 28)
    assert add_months(local(2026, 3, 15, 8, 30), 3) == local(2026, 6, 15, 8, 30)
    assert add_months(local(2026, 10, 31), 3) == local(2027, 1, 31)  # across the year


def test_months_are_counted_in_local_time_whatever_the_offset_given():
    # 2026-11-30 17:00 UTC is 2026-12-01 01:00 in Beijing: three months later is 2027-03-01 01:00 local.
    start = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert latest_end(start) == local(2027, 3, 1, 1, 0)
    assert latest_end(start).tzinfo == UTC


def test_a_period_may_end_exactly_three_months_later_and_not_a_second_after():
    start = local(2026, 11, 30, 10, 0)
    assert check_period(start, local(2027, 2, 28, 10, 0)) is None
    why = check_period(start, local(2027, 2, 28, 10, 0, 1))
    assert why is not None and "3 calendar months" in why and "2027-02-28T10:00:00+08:00" in why
    assert check_period(start, start) == "the end must be after the start"


def test_reminders_are_due_seven_days_and_one_day_before_and_not_after_the_end():
    end = local(2026, 6, 15, 8, 0)
    assert due_reminders(end, end - timedelta(days=7, seconds=1), {}) == []
    assert due_reminders(end, end - timedelta(days=7), {}) == ["7d"]
    assert due_reminders(end, end - timedelta(days=3), {"7d": True}) == []
    assert due_reminders(end, end - timedelta(days=1), {"7d": True}) == ["1d"]
    assert due_reminders(end, end - timedelta(hours=2), {}) == ["7d", "1d"]  # both due: the caller sends one
    assert due_reminders(end, end, {}) == []


def test_the_purpose_of_a_fix_is_decided_at_its_own_time_on_a_half_open_window():
    from geo.ingest.purpose import Window, purpose_at

    start, end = local(2026, 6, 1, 8, 0), local(2026, 7, 1, 8, 0)
    windows = [Window(7, start, end)]
    second = timedelta(seconds=1)
    for kind in ("tracker", "wristband"):
        assert purpose_at(start - second, windows, kind=kind, positioning_grade=False) is None
        assert purpose_at(start, windows, kind=kind, positioning_grade=False) == "order:7"
        assert purpose_at(end - second, windows, kind=kind, positioning_grade=False) == "order:7"
        assert purpose_at(end, windows, kind=kind, positioning_grade=False) is None
    assert purpose_at(end, windows, kind="phone", positioning_grade=True) == "信息化核查"
    assert purpose_at(end - second, windows, kind="phone", positioning_grade=True) == "order:7"
    assert purpose_at(end - second, windows, kind="phone", positioning_grade=False) == "信息化核查"
