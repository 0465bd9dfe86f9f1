"""Recurring local-time windows (curfew / home hours), evaluated vectorised.

Times throughout the engine are UTC epoch seconds (float64).  A window is
a local wall-clock interval ``[start, end)`` that recurs on a set of
weekdays; when ``end <= start`` it crosses midnight and runs into the next
day.  ``weekdays`` names the day on which the window *starts* (0 = Monday),
so "Mon-Fri 22:00-06:00" is active on Friday 23:00 and on Saturday 05:00
but not on Monday 05:00.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from core.localtime import LOCAL_TZ_NAME

__all__ = ["CurfewWindow", "curfew_active", "local_clock", "to_epoch", "windows_active"]

DEFAULT_TZ = LOCAL_TZ_NAME
# Asia/Shanghai has been UTC+8 without DST since 1991-09-15 (1991-09-14 17:00 UTC).
_SHANGHAI_FIXED_SINCE = 684867600.0
_DAY = 86400.0
_ALL_DAYS = frozenset(range(7))


def to_epoch(dt: datetime) -> float:
    """Aware datetime -> UTC epoch seconds; naive datetimes are refused."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: engine times must be timezone-aware")
    return dt.timestamp()


def _seconds(t: time) -> int:
    if t.tzinfo is not None:
        raise ValueError("curfew window times are local wall-clock times; pass a naive time")
    return t.hour * 3600 + t.minute * 60 + t.second


@dataclass(frozen=True, slots=True)
class CurfewWindow:
    """Local ``[start, end)``, recurring on ``weekdays`` (day the window starts, Mon=0)."""

    start: time
    end: time
    weekdays: frozenset[int] = field(default=_ALL_DAYS)

    def __post_init__(self) -> None:
        object.__setattr__(self, "weekdays", frozenset(int(d) for d in self.weekdays))
        if not self.weekdays or not self.weekdays <= _ALL_DAYS:
            raise ValueError(f"weekdays must be a non-empty subset of 0..6, got {sorted(self.weekdays)}")
        if _seconds(self.start) == _seconds(self.end):
            raise ValueError("a curfew window needs start != end")

    @property
    def start_s(self) -> int:
        return _seconds(self.start)

    @property
    def end_s(self) -> int:
        return _seconds(self.end)

    @property
    def weekday_mask(self) -> int:
        return sum(1 << d for d in self.weekdays)


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def _utc_offsets(t: np.ndarray, tz: str) -> np.ndarray | float:
    if t.size == 0:
        return 0.0
    if tz in ("Asia/Shanghai", "Asia/Chongqing", "PRC") and float(t.min()) >= _SHANGHAI_FIXED_SINCE:
        return 28800.0
    # General zones: one zoneinfo lookup per distinct minute (transitions fall on minutes).
    zone = _zone(tz)
    minutes, inverse = np.unique(np.floor(t / 60.0), return_inverse=True)
    offs = np.array(
        [datetime.fromtimestamp(m * 60.0, timezone.utc).astimezone(zone).utcoffset().total_seconds() for m in minutes]
    )
    return offs[inverse.reshape(t.shape)]


def local_clock(t: np.ndarray, tz: str = DEFAULT_TZ) -> tuple[np.ndarray, np.ndarray]:
    """(weekday Mon=0, seconds since local midnight) for epoch seconds ``t``."""
    t = np.asarray(t, dtype=np.float64)
    local = t + _utc_offsets(t, tz)
    day = np.floor(local / _DAY)
    sod = local - day * _DAY
    weekday = ((day.astype(np.int64) + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday
    return weekday, sod


def windows_active(
    weekday: np.ndarray, sod: np.ndarray, start_s: np.ndarray, end_s: np.ndarray, mask: np.ndarray
) -> np.ndarray:
    """Elementwise: is the window (start_s, end_s, weekday bitmask) active at (weekday, sod)?"""
    today = (np.right_shift(mask, weekday) & 1).astype(bool)
    yesterday = (np.right_shift(mask, (weekday + 6) % 7) & 1).astype(bool)
    same_day = start_s < end_s
    plain = same_day & today & (sod >= start_s) & (sod < end_s)
    crossing = ~same_day & ((today & (sod >= start_s)) | (yesterday & (sod < end_s)))
    return plain | crossing


def curfew_active(windows: tuple[CurfewWindow, ...] | list[CurfewWindow], t, tz: str = DEFAULT_TZ) -> np.ndarray:
    """Boolean array: is any of ``windows`` active at each epoch time in ``t``?"""
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    weekday, sod = local_clock(t, tz)
    out = np.zeros(t.shape, dtype=bool)
    for w in windows:
        out |= windows_active(weekday, sod, np.int64(w.start_s), np.int64(w.end_s), np.int64(w.weekday_mask))
    return out
