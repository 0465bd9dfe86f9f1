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

from collections.abc import Mapping
from typing import Any

from geo.ingest.decoders import _fields as f
from geo.ingest.errors import DecodeError
from geo.ingest.fix import DecodedFix

PROTOCOL = "native"
MAX_FIXES = 1000
MAX_BODY_BYTES = 1_000_000

REQUIRED = ("id", "time", "lat", "lon", "accuracy")
OPTIONAL = ("speed", "heading", "altitude", "battery", "charging", "mock", "tamper", "datum")
ALLOWED = frozenset(REQUIRED + OPTIONAL)


def decode(body: bytes | Mapping[str, Any]) -> list[DecodedFix]:
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


def _decode_fix(item: Any, path: str) -> DecodedFix:
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
