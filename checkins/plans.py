"""Check-in plans as pure values: which windows a plan asks for, between two instants.

No database here (like geo/engine): ``plan_rule`` turns a tier and the
effective policy into a ``PlanRule``; ``slots`` lists the rule's windows that
open in a period, each with a key that is stable across runs, so the
scheduler can materialise the same window twice and store it once.

Cadence (DOMAIN.md, provincial defaults): strict — a daily location + face
window plus the weekly 报到; ordinary — the 报到 every two weeks; lenient —
monthly (the first report weekday of each month); "fixed daily windows" — an
office's own windows (e.g. three a day, Futian style), nothing else. Windows
are local time (Asia/Shanghai); an end at or before the start closes the
next day, so "22:00-01:00" runs across midnight.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from core.localtime import LOCAL_TZ


class PlanKind(StrEnum):
    strict = "strict"
    ordinary = "ordinary"
    lenient = "lenient"
    fixed_windows = "fixed_windows"


class SlotKind(StrEnum):
    daily = "daily"  # strict tier's daily window
    window = "window"  # one of the fixed daily windows
    report = "report"  # 报到
    spot = "spot"  # 随机点名 (from the plan or an officer)


@dataclass(frozen=True)
class Window:
    """A daily local-time window; ``end <= start`` means it closes the next day."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Window:
        a, b = text.split("-")
        return cls(time.fromisoformat(a), time.fromisoformat(b))

    def on(self, day: date) -> tuple[datetime, datetime]:
        """The window opening on local ``day``, as aware datetimes."""
        opens = datetime.combine(day, self.start, LOCAL_TZ)
        closes = datetime.combine(day + timedelta(days=1 if self.end <= self.start else 0), self.end, LOCAL_TZ)
        return opens, closes

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class PlanRule:
    kind: PlanKind
    daily: tuple[Window, ...]  # windows every day (strict: one; fixed_windows: several)
    report: Window | None  # the 报到 window, on report days
    report_weekday: int
    report_every: str  # "weekly" | "biweekly" | "monthly" | "none"
    spot_per_week: int
    waking: Window
    spot_minutes: int


@dataclass(frozen=True)
class Slot:
    kind: SlotKind
    key: str  # stable within a plan: "daily:2026-01-05:0", "report:2026-01-05", "spot:2026-01-05:1"
    opens_at: datetime
    closes_at: datetime


_CADENCE = {PlanKind.strict: "weekly", PlanKind.ordinary: "biweekly", PlanKind.lenient: "monthly",
            PlanKind.fixed_windows: "none"}


def plan_rule(kind: PlanKind, *, daily_window: str, report_window: str, report_weekday: int,
              fixed_windows: list[str], spot_per_week: int, waking_hours: str, spot_minutes: int) -> PlanRule:
    """The rule of a plan of ``kind`` from the effective settings."""
    if kind == PlanKind.fixed_windows:
        daily = tuple(Window.parse(w) for w in fixed_windows)
    elif kind == PlanKind.strict:
        daily = (Window.parse(daily_window),)
    else:
        daily = ()
    report = None if kind == PlanKind.fixed_windows else Window.parse(report_window)
    return PlanRule(kind, daily, report, report_weekday, _CADENCE[kind], spot_per_week, Window.parse(waking_hours),
                    spot_minutes)


def first_report_day(rule: PlanRule, start_day: date) -> date:
    """The first report weekday on or after ``start_day``: the biweekly cadence counts from it."""
    return start_day + timedelta(days=(rule.report_weekday - start_day.weekday()) % 7)


def _is_report_day(rule: PlanRule, day: date, anchor: date) -> bool:
    if rule.report is None or day.weekday() != rule.report_weekday or day < anchor:
        return False
    if rule.report_every == "weekly":
        return True
    if rule.report_every == "biweekly":
        return (day - anchor).days % 14 == 0
    if rule.report_every == "monthly":
        return day.day <= 7  # the first such weekday of the month
    return False


def slots(rule: PlanRule, *, anchor: date, start: datetime, end: datetime) -> list[Slot]:
    """The plan's fixed windows (daily, fixed, 报到) that open in [start, end).

    ``anchor`` is the plan's first 报到 day (``first_report_day``): a biweekly
    cadence counts from it, and no 报到 comes before it.
    """
    lo = start
    if lo >= end:
        return []
    out: list[Slot] = []
    # From the day before: a window opening yesterday evening may still be open.
    day = lo.astimezone(LOCAL_TZ).date() - timedelta(days=1)
    last = end.astimezone(LOCAL_TZ).date()
    daily_kind = SlotKind.window if rule.kind == PlanKind.fixed_windows else SlotKind.daily
    while day <= last:
        for i, w in enumerate(rule.daily):
            a, b = w.on(day)
            if lo <= a < end:
                out.append(Slot(daily_kind, f"{daily_kind}:{day.isoformat()}:{i}", a, b))
        if _is_report_day(rule, day, anchor):
            a, b = rule.report.on(day)
            if lo <= a < end:
                out.append(Slot(SlotKind.report, f"report:{day.isoformat()}", a, b))
        day += timedelta(days=1)
    return sorted(out, key=lambda s: (s.opens_at, s.key))


def random_spot_slots(rule: PlanRule, *, week_monday: date, not_before: datetime,
                      rng: random.Random) -> list[Slot]:
    """The plan's N random spot checks of one ISO week, each opening in waking hours after ``not_before``.

    The key holds the week and the number, not the time: materialising the
    week again (another process, a retry) draws other times but stores none of
    them, so each spot check exists once and its time stays the first one drawn.
    """
    minutes = timedelta(minutes=rule.spot_minutes)
    choices: list[datetime] = []
    for d in range(7):
        day = week_monday + timedelta(days=d)
        a, b = rule.waking.on(day)
        a = max(a, not_before)
        if a + minutes <= b:
            choices.append(a)
    out = []
    if not choices:
        return out
    for i in range(rule.spot_per_week):
        day_start = rng.choice(choices)
        _, waking_end = rule.waking.on(day_start.astimezone(LOCAL_TZ).date())
        span = (waking_end - minutes - day_start).total_seconds()
        opens = (day_start + timedelta(seconds=rng.uniform(0, max(span, 0)))).replace(microsecond=0)
        out.append(Slot(SlotKind.spot, f"spot:{week_monday.isoformat()}:{i}", opens, opens + minutes))
    return out
