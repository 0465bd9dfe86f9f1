"""Field parsers shared by the decoders: each returns a clean value or raises DecodeError(field)."""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from geo.ingest.errors import DecodeError
from geo.ingest.fix import DATUMS

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_JSON_BYTES = 2_000_000
_MAX_UNIX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second datetime can hold

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d{1,20}")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _keep_nonfinite(name: str) -> float:
    # Python's json accepts the non-standard NaN/Infinity literals. Turning them
    # into floats here (instead of failing the whole body) lets the field
    # validators reject them *with the field's path*, which is what a client needs.
    return float(name.replace("Infinity", "inf"))


def load_json(body: Any, *, field: str = "body", max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse a request body (bytes/str) as JSON; an already-parsed value passes through."""
    if isinstance(body, (bytes, bytearray, memoryview, str)):
        try:
            data = body.encode() if isinstance(body, str) else bytes(body)
            if len(data) > max_bytes:
                raise DecodeError(field, f"larger than {max_bytes} bytes")
            return json.loads(data, parse_constant=_keep_nonfinite)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, too deep
            raise DecodeError(field, f"not valid JSON ({type(exc).__name__})") from None
    return body


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def key_path(prefix: str, key: str) -> str:
    """The dotted path of ``key`` under ``prefix``; odd keys are quoted and cut, as they come from clients."""
    if _PLAIN_KEY.fullmatch(key):
        return f"{prefix}.{key}" if prefix else key
    return f"{prefix or 'body'}[{json.dumps(key[:64])}]"


def require_object(value: Any, field: str) -> Mapping[str, Any]:
    """The value must be a JSON object with string keys."""
    if not isinstance(value, Mapping):
        raise DecodeError(field, "must be a JSON object")
    for key in value:
        if not isinstance(key, str):
            raise DecodeError(field, "object keys must be strings")
    return value


def _plainly_strict(value: Any, depth: int = 0) -> bool:
    """Fast path of json_safe: finite numbers, strings, bools, None, lists and str-keyed dicts."""
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if depth > 32:
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plainly_strict(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_plainly_strict(v, depth + 1) for v in value)
    return False


def json_safe(value: Any, field: str) -> Any:
    """Check that evidence we are about to keep is strict JSON (no NaN, no foreign types); "" is the body."""
    if _plainly_strict(value):
        return value  # the common case, without serialising every fix once more
    try:
        json.dumps(value, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        if isinstance(value, Mapping):  # name the offending key when we can
            for key, item in value.items():
                json_safe(item, key_path(field, str(key)))
        raise DecodeError(field or "body", "contains a value that is not strict JSON (NaN, Infinity, ...)") from None
    return value


def number(value: Any, field: str, *, lo: float | None = None, hi: float | None = None) -> float:
    """A finite JSON number within [lo, hi] (booleans are not numbers)."""
    if value is None:
        raise DecodeError(field, "is required")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DecodeError(field, "must be a number")
    try:
        x = float(value)
    except OverflowError:
        raise DecodeError(field, "is out of range") from None
    return _check_range(x, field, lo, hi)


def opt_number(value: Any, field: str, *, lo: float | None = None, hi: float | None = None) -> float | None:
    """Like number(), but None stays None."""
    return None if value is None else number(value, field, lo=lo, hi=hi)


def text_number(value: str | None, field: str, *, lo: float | None = None, hi: float | None = None) -> float | None:
    """A decimal number from a query/form string; empty or absent means None."""
    if value is None or value.strip() == "":
        return None
    s = value.strip()
    # float() alone would also take "nan", "inf" and "1_0"; only plain decimals are numbers here.
    if not _DECIMAL.fullmatch(s):
        raise DecodeError(field, f"must be a decimal number, got {value[:40]!r}")
    return _check_range(float(s), field, lo, hi)


def _check_range(x: float, field: str, lo: float | None, hi: float | None) -> float:
    if not math.isfinite(x):
        raise DecodeError(field, "must be a finite number (NaN and Infinity are rejected)")
    if lo is not None and x < lo:
        raise DecodeError(field, f"must be >= {lo:g}, got {x:g}")
    if hi is not None and x > hi:
        raise DecodeError(field, f"must be <= {hi:g}, got {x:g}")
    return x


def latitude(value: Any, field: str) -> float:
    return number(value, field, lo=-90.0, hi=90.0)


def longitude(value: Any, field: str) -> float:
    return number(value, field, lo=-180.0, hi=180.0)


def boolean(value: Any, field: str) -> bool:
    """A JSON boolean (strictly)."""
    if not isinstance(value, bool):
        raise DecodeError(field, "must be true or false")
    return value


def text_boolean(value: str | None, field: str) -> bool | None:
    """A boolean from a query string: true/false/1/0 (case-insensitive); empty means None."""
    if value is None or value.strip() == "":
        return None
    s = value.strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise DecodeError(field, f"must be true or false, got {value[:40]!r}")


def datum(value: Any, field: str) -> str:
    if not isinstance(value, str) or value not in DATUMS:
        raise DecodeError(field, f"must be one of {sorted(DATUMS)}")
    return value


def unix_seconds(value: Decimal | int | float, field: str) -> datetime:
    """Seconds since 1970 (fractions kept to the microsecond, without float rounding)."""
    try:
        seconds = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)
        if not seconds.is_finite() or abs(seconds) > _MAX_UNIX_SECONDS:
            raise DecodeError(field, "is out of range")
        micros = int((seconds * 1_000_000).to_integral_value())
        if micros < 0:
            raise DecodeError(field, "must not be before 1970")
        return EPOCH + timedelta(microseconds=micros)
    except (OverflowError, ValueError, InvalidOperation, ArithmeticError):
        raise DecodeError(field, "is out of range") from None


def json_time(value: Any, field: str) -> datetime:
    """ISO 8601 with a UTC offset, or a JSON number of unix seconds."""
    if value is None:
        raise DecodeError(field, "is required")
    if isinstance(value, bool):
        raise DecodeError(field, "must be ISO 8601 with offset or unix seconds")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise DecodeError(field, "must be a finite number (NaN and Infinity are rejected)")
        return unix_seconds(value, field)
    if isinstance(value, str):
        return iso_time(value, field)
    raise DecodeError(field, "must be ISO 8601 with offset or unix seconds")


def iso_time(value: str, field: str, *, assume_utc: bool = False) -> datetime:
    """ISO 8601; a time without offset is rejected unless the format defines it as UTC (GPX)."""
    s = value.strip()
    if not s or len(s) > 64:
        raise DecodeError(field, "must be an ISO 8601 date-time")
    try:
        t = datetime.fromisoformat(s)
    except ValueError:
        raise DecodeError(field, f"is not an ISO 8601 date-time: {value[:40]!r}") from None
    if t.tzinfo is None:
        if not assume_utc:
            raise DecodeError(field, "has no UTC offset (write Z or +08:00)")
        t = t.replace(tzinfo=UTC)
    try:
        return t.astimezone(UTC)
    except (OverflowError, ValueError):
        raise DecodeError(field, "is out of range") from None


_SPACED_UTC = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?")


def flexible_timestamp(value: str | None, field: str) -> datetime:
    """OsmAnd/Traccar ``timestamp``: unix seconds, unix milliseconds, ISO 8601, or
    ``YYYY-MM-DD HH:MM:SS``.

    Like Traccar, an integer below 2**31 is seconds and anything larger is
    milliseconds (OsmAnd's own tracker sends milliseconds, Traccar Client seconds).
    The space-separated form without an offset is what some Traccar Client
    builds send; Traccar's server reads it as UTC and so do we (a phone that
    meant local time then shows as 8 h in the future and is flagged, not lost).
    An ISO 8601 ``T`` form without offset still needs one: by the standard it
    is local time, which we will not guess.
    """
    if value is None or value.strip() == "":
        raise DecodeError(field, "is required")
    s = value.strip()
    if _INTEGER.fullmatch(s):
        n = int(s)
        return unix_seconds(Decimal(n) / 1000 if n >= 2**31 - 1 else Decimal(n), field)
    if _DECIMAL.fullmatch(s) and "e" not in s.lower():
        return unix_seconds(Decimal(s), field)
    if _SPACED_UTC.fullmatch(s):
        return iso_time(s, field, assume_utc=True)
    return iso_time(s, field)


def short_text(value: Any, field: str, *, max_len: int = 128) -> str:
    """A non-empty string of at most max_len characters, without control characters."""
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise DecodeError(field, f"must be a non-empty string of at most {max_len} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise DecodeError(field, "must not contain control characters")
    return value
