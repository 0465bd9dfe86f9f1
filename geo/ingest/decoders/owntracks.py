"""OwnTracks in HTTP mode: a JSON message (or a JSON array of them) per POST.

Only ``_type: "location"`` carries a fix; every other type (transition,
waypoint(s), card, lwt, status, steps, cmd, encrypted, ...) is accepted and
yields nothing, because OwnTracks retries a rejected POST forever and would
block its queue. Extra keys OwnTracks adds over the versions (``created_at``,
``inregions``, ``inrids``, ``SSID``, ``topic``, ``m``, ``_id``...) are kept in
``raw`` and otherwise ignored.

Units: ``tst`` unix seconds, ``acc``/``alt`` metres, ``vel`` km/h, ``cog``
degrees, ``batt`` percent, ``bs`` battery status (0 unknown, 1 unplugged,
2 charging, 3 full; full counts as plugged in, so ``charging=True``).
OwnTracks reports the phone's OS position, which is WGS-84. Messages carry no
id: ``client_fix_id`` is None and the server dedups on time. The ``X-Limit-U``
(user) and ``X-Limit-D`` (device) headers are kept in ``raw["headers"]``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from geo.ingest.decoders import _fields as f
from geo.ingest.errors import DecodeError
from geo.ingest.decoders.message import Decoded, DeviceMessage, plain_json
from geo.ingest.fix import DecodedFix

PROTOCOL = "owntracks"
MAX_MESSAGES = 1000
MAX_BODY_BYTES = 1_000_000
RECORDED_HEADERS = ("X-Limit-U", "X-Limit-D")
_CHARGING_BY_STATUS: dict[int, bool | None] = {0: None, 1: False, 2: True, 3: True}


def decode(message: DeviceMessage) -> Decoded:
    """Decode one OwnTracks HTTP POST (the credential is HTTP Basic, not in the body)."""
    return Decoded(decode_body(message.body, message.headers), plain_json=plain_json(message.body))


def decode_body(body: bytes | Mapping[str, Any] | list[Any], headers: Mapping[str, str]) -> list[DecodedFix]:
    """Decode one OwnTracks POST into its location fixes (possibly none)."""
    root = f.load_json(body, max_bytes=MAX_BODY_BYTES)
    recorded = _recorded_headers(headers)
    if isinstance(root, list):
        if len(root) > MAX_MESSAGES:
            raise DecodeError("body", f"must hold at most {MAX_MESSAGES} messages, got {len(root)}")
        messages = [(m, f"[{i}].") for i, m in enumerate(root)]
    else:
        messages = [(root, "")]
    fixes = []
    for message, prefix in messages:
        msg = f.require_object(message, prefix.rstrip(".") or "body")
        kind = msg.get("_type")
        if not isinstance(kind, str):
            raise DecodeError(f"{prefix}_type", "is required (a string)")
        if kind == "location":
            fixes.append(_decode_location(msg, prefix, recorded))
    return fixes


def _recorded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    # Plain dicts are case-sensitive, HTTP headers are not.
    lowered = {str(k).lower(): v for k, v in headers.items()}
    return {name: str(lowered[name.lower()]) for name in RECORDED_HEADERS if name.lower() in lowered}


def _decode_location(msg: Mapping[str, Any], prefix: str, headers: dict[str, str]) -> DecodedFix:
    def field(name: str) -> str:
        return prefix + name

    for name in ("lat", "lon", "tst"):
        if msg.get(name) is None:
            raise DecodeError(field(name), "is required")
    tst = msg["tst"]
    if isinstance(tst, bool) or not isinstance(tst, (int, float)):
        raise DecodeError(field("tst"), "must be unix seconds (a number)")
    vel = f.opt_number(msg.get("vel"), field("vel"))
    cog = f.opt_number(msg.get("cog"), field("cog"), hi=360.0)
    return DecodedFix(
        client_fix_id=None,
        time=f.json_time(tst, field("tst")),
        lat=f.latitude(msg["lat"], field("lat")),
        lon=f.longitude(msg["lon"], field("lon")),
        datum="wgs84",
        accuracy_m=f.opt_number(msg.get("acc"), field("acc"), lo=0.0),
        speed_mps=None if vel is None or vel < 0 else vel / 3.6,
        heading_deg=None if cog is None or cog < 0 else cog,
        altitude_m=f.opt_number(msg.get("alt"), field("alt")),
        battery_pct=f.opt_number(msg.get("batt"), field("batt"), lo=0.0, hi=100.0),
        charging=_charging(msg.get("bs"), field("bs")),
        mock=False,
        tamper=False,
        raw={"input": f.json_safe(dict(msg), prefix.rstrip(".")), "headers": headers},
        protocol=PROTOCOL,
    )


def _charging(value: Any, field: str) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in _CHARGING_BY_STATUS:
        raise DecodeError(field, "must be 0 (unknown), 1 (unplugged), 2 (charging) or 3 (full)")
    return _CHARGING_BY_STATUS[value]
