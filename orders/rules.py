"""Pure rules of electronic-positioning orders (Law art. 29): durations and reminders.

"Three months" is counted in calendar months in local time (Asia/Shanghai):
the same day of the month three months later at the same clock time, or the
last day of that month when it has no such day. So 2026-11-30 10:00 + 3
months = 2027-02-28 10:00, 2026-01-31 + 1 month = 2026-02-28, and
2027-11-30 + 3 months = 2028-02-29 (a leap year). An end exactly at that
instant is allowed; one second later is not.
"""
from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from core.localtime import LOCAL_TZ

MAX_MONTHS = 3
REMINDERS = (("7d", timedelta(days=7)), ("1d", timedelta(days=1)))  # before expiry, least urgent first


def add_months(t: datetime, months: int) -> datetime:
    """``t`` plus calendar months in local time, the day clamped to the month's last."""
    local = t.astimezone(LOCAL_TZ)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(t.tzinfo)


def latest_end(start: datetime) -> datetime:
    """The latest lawful end of a period starting at ``start`` (an order or one extension)."""
    return add_months(start, MAX_MONTHS)


def check_period(start: datetime, end: datetime) -> str | None:
    """Why [start, end) is not a lawful order period, or None."""
    if end <= start:
        return "the end must be after the start"
    limit = latest_end(start)
    if end > limit:
        return (f"an order runs at most {MAX_MONTHS} calendar months (Law art. 29): from "
                f"{start.astimezone(LOCAL_TZ).isoformat()} the latest end is {limit.astimezone(LOCAL_TZ).isoformat()}")
    return None


def due_reminders(ends_at: datetime, now: datetime, sent: dict[str, bool]) -> list[str]:
    """Reminders ("7d", "1d") to mark now: due, not yet marked, and the order not yet expired.

    When both are due at once (an order approved with less than a day left, or
    a job that was down), only the more urgent one is announced; the other is
    returned too so the caller marks it done without a second notice.
    """
    if now >= ends_at:
        return []
    return [name for name, before in REMINDERS if now >= ends_at - before and not sent.get(name)]
