"""Local time: the supervising offices' wall clock, in one place.

Curfews, leave days, report periods and the dates printed on documents are
all local (Asia/Shanghai). China has kept UTC+8 without daylight saving time
since 1991, so for every date this system handles a fixed offset is exact
and needs no time-zone database.
"""
from __future__ import annotations

from datetime import timedelta, timezone

LOCAL_TZ_NAME = "Asia/Shanghai"  # for PostgreSQL's timezone() and zoneinfo
LOCAL_TZ = timezone(timedelta(hours=8), "CST")
