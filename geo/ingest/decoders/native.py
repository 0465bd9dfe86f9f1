"""Our own batch protocol: ``{"fixes": [{"id", "time", "lat", "lon", "accuracy", ...}, ...]}``.

Strict, because we control the client: unknown keys are rejected (a typo such
as ``"acuracy"`` would otherwise silently drop the accuracy the geofence engine
depends on), ids are required and unique within a batch, and the batch holds
1..1000 fixes.

Per fix: ``id`` (str), ``time`` (ISO 8601 with offset, or unix seconds),
``lat``, ``lon``, ``accuracy`` (metres, >= 0), and optional ``speed`` (m/s),
``heading`` (deg 0..360), ``altitude`` (m), ``battery`` (0..100), ``mock``,
``datum`` (default ``wgs84``). Two optional booleans beyond the original brief,
``charging`` and ``tamper``, exist because DecodedFix carries them and our own
app is the only client that can report them.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from geo.ingest.decoders import _fields as f
from geo.ingest.errors import DecodeError
from geo.ingest.decoders.message import Decoded, DeviceMessage, plain_json
from geo.ingest.fix import DATUMS, DecodedFix

PROTOCOL = "native"
MAX_FIXES = 1000
MAX_BODY_BYTES = 1_000_000

REQUIRED = ("id", "time", "lat", "lon", "accuracy")
_REQUIRED_SET = frozenset(REQUIRED)
OPTIONAL = ("speed", "heading", "altitude", "battery", "charging", "mock", "tamper", "datum")
ALLOWED = frozenset(REQUIRED + OPTIONAL)


def decode(message: DeviceMessage) -> Decoded:
    """Decode a native batch request (the credential is the bearer token, not in the body)."""
    return Decoded(decode_body(message.body), plain_json=plain_json(message.body))


def decode_body(body: bytes | Mapping[str, Any]) -> list[DecodedFix]:
    """Decode a native batch; raises DecodeError naming the first bad field."""
    root = f.require_object(f.load_json(body, max_bytes=MAX_BODY_BYTES), "body")
    for key in root:
        if key != "fixes":
            raise DecodeError(f.key_path("", key), "unknown field")
    items = root.get("fixes")
    if not isinstance(items, list):
        raise DecodeError("fixes", "must be a list of fixes")
    if not 1 <= len(items) <= MAX_FIXES:
        raise DecodeError("fixes", f"must hold 1 to {MAX_FIXES} fixes, got {len(items)}")
    first_seen: dict[str, int] = {}
    fixes = []
    for i, item in enumerate(items):
        fix = _decode_fix(item, f"fixes[{i}]")
        if fix.client_fix_id in first_seen:
            raise DecodeError(f"fixes[{i}].id", f"duplicate id (first used at fixes[{first_seen[fix.client_fix_id]}])")
        first_seen[fix.client_fix_id] = i  # type: ignore[index]
        fixes.append(fix)
    return fixes


_NUMBER = (int, float)
_OPTIONAL_NUMBERS = {"speed": (0.0, None), "heading": (0.0, 360.0), "altitude": (None, None), "battery": (0.0, 100.0)}


def _plain_number(v: Any, lo: float | None = None, hi: float | None = None) -> bool:
    return (type(v) in _NUMBER and math.isfinite(v) and (lo is None or v >= lo) and (hi is None or v <= hi))


def _fast_fix(item: Any) -> DecodedFix | None:
    """The common, well-formed fix without per-field error bookkeeping (ingest's
    hot loop). Anything unusual returns None and goes through the careful path,
    which produces the error message naming the field."""
    if type(item) is not dict or not (item.keys() <= ALLOWED and item.keys() >= _REQUIRED_SET):
        return None
    fid, time, lat, lon, acc = item["id"], item["time"], item["lat"], item["lon"], item["accuracy"]
    if not (type(fid) is str and 0 < len(fid) <= 128 and fid.isprintable() and type(time) is str
            and _plain_number(lat, -90.0, 90.0) and _plain_number(lon, -180.0, 180.0) and _plain_number(acc, 0.0)):
        return None
    extra = {}
    for key, (lo, hi) in _OPTIONAL_NUMBERS.items():
        v = item.get(key)
        if v is not None and not _plain_number(v, lo, hi):
            return None
        extra[key] = None if v is None else float(v)
    flags = {}
    for key in ("charging", "mock", "tamper"):
        v = item.get(key)
        if v is not None and type(v) is not bool:
            return None
        flags[key] = v
    datum = item.get("datum", "wgs84")
    if datum not in DATUMS:
        return None
    try:
        t = datetime.fromisoformat(time)
    except ValueError:
        return None
    if t.tzinfo is None or len(time) > 64:
        return None
    return DecodedFix(
        client_fix_id=fid, time=t.astimezone(UTC), lat=float(lat), lon=float(lon), datum=datum,
        accuracy_m=float(acc), speed_mps=extra["speed"], heading_deg=extra["heading"], altitude_m=extra["altitude"],
        battery_pct=extra["battery"], charging=flags["charging"], mock=bool(flags["mock"]),
        tamper=bool(flags["tamper"]), raw={"input": item}, protocol=PROTOCOL,
    )


def _decode_fix(item: Any, path: str) -> DecodedFix:
    fast = _fast_fix(item)
    if fast is not None:
        return fast
    obj = f.require_object(item, path)
    for key in obj:
        if key not in ALLOWED:
            raise DecodeError(f.key_path(path, key), "unknown field")
    for key in REQUIRED:
        if key not in obj:
            raise DecodeError(f"{path}.{key}", "is required")
    mock, charging, tamper = obj.get("mock"), obj.get("charging"), obj.get("tamper")
    return DecodedFix(
        client_fix_id=f.short_text(obj["id"], f"{path}.id"),
        time=f.json_time(obj["time"], f"{path}.time"),
        lat=f.latitude(obj["lat"], f"{path}.lat"),
        lon=f.longitude(obj["lon"], f"{path}.lon"),
        datum=f.datum(obj.get("datum", "wgs84"), f"{path}.datum"),  # type: ignore[arg-type]
        accuracy_m=f.number(obj["accuracy"], f"{path}.accuracy", lo=0.0),
        speed_mps=f.opt_number(obj.get("speed"), f"{path}.speed", lo=0.0),
        heading_deg=f.opt_number(obj.get("heading"), f"{path}.heading", lo=0.0, hi=360.0),
        altitude_m=f.opt_number(obj.get("altitude"), f"{path}.altitude"),
        battery_pct=f.opt_number(obj.get("battery"), f"{path}.battery", lo=0.0, hi=100.0),
        charging=None if charging is None else f.boolean(charging, f"{path}.charging"),
        mock=False if mock is None else f.boolean(mock, f"{path}.mock"),
        tamper=False if tamper is None else f.boolean(tamper, f"{path}.tamper"),
        raw={"input": f.json_safe(dict(obj), path)},
        protocol=PROTOCOL,
    )
