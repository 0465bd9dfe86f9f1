"""OsmAnd / Traccar Client over HTTP: query or form parameters, or Traccar Client's JSON body.

Query/form (``?id=KEY&timestamp=1700000000&lat=..&lon=..&speed=..&bearing=..``):

* ``speed`` is read as **knots** by default. That is the OsmAnd protocol as
  Traccar's server defines it, and Traccar Client (Android and iOS) converts
  its m/s to knots before sending. The OsmAnd app's own tracker sends its
  ``{5}`` value in m/s; a device known to do that can be decoded with
  ``query_speed_unit="mps"``.
* ``timestamp``: unix seconds, unix milliseconds (an integer >= 2**31, as
  Traccar does), ISO 8601 with an offset, or ``YYYY-MM-DD HH:MM:SS`` without
  one, read as UTC as Traccar's server does. An ISO ``T`` form without offset
  is rejected: by the standard it is local time, a guess we won't make.
* ``accuracy`` in metres; if absent, ``hdop`` is used as the radius in metres,
  because that is what OsmAnd writes into ``{3}`` (Android's accuracy, not a
  dilution of precision). 0 means unknown.
* ``bearing``/``heading`` < 0 mean unknown. ``batt`` 0..100; ``charge`` and
  ``mock`` booleans; ``alarm=tampering`` sets ``tamper``. Other parameters
  (``valid``, ``cell``, ``wifi``, ``event``...) are kept in ``raw`` only.

JSON (``{"device_id": KEY, "location": {"timestamp", "coords", "battery", "is_moving", "extras", "mock"?}}``),
the format of Traccar Client 9+ (the Transistorsoft background-geolocation
plugin): ``coords.speed`` is m/s, ``battery.level`` is 0..1, and -1 means
unknown for speed, heading and battery level. ``location`` is a single object
in what Traccar Client sends; the plugin's batch mode sends a list, which
:func:`decode_params` accepts.

The device key (``id``/``deviceid``/``device_id``) is returned separately and
removed from ``raw``: it is a secret, and ``raw`` is stored as evidence.
Query-form fixes have no id of their own: ``client_fix_id`` is None (the
server dedups on time). JSON locations carry the plugin's ``uuid``, which is
used as ``client_fix_id`` when present.
"""
from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl
from decimal import Decimal
from typing import Any, Literal

from geo.ingest.decoders import _fields as f
from geo.ingest.errors import DecodeError
from geo.ingest.decoders.message import Decoded, DeviceMessage
from geo.ingest.fix import DecodedFix

PROTOCOL = "osmand"
MAX_BATCH = 1000
KEY_PARAMS = ("id", "deviceid")
SpeedUnit = Literal["kn", "mps", "kmh"]
_TO_MPS: dict[str, float] = {"kn": 1852.0 / 3600.0, "mps": 1.0, "kmh": 1.0 / 3.6}
# Where Android mock-location apps or plugin configurations say "this fix is fake".
_MOCK_EXTRAS = ("mock", "is_mock", "isMock", "mocked", "isFromMockProvider", "mock_location")


def decode(message: DeviceMessage, *, query_speed_unit: SpeedUnit = "kn") -> Decoded:
    """Decode one OsmAnd/Traccar request: query string, form body or JSON body.

    The device key travels in the message (``id`` / ``device_id``), so it is
    returned with the fixes for the route to authenticate.
    """
    params = dict(message.query)
    json_body = None
    ctype = message.content_type.split(";", 1)[0].strip().lower()
    if message.body:
        if "json" in ctype:  # application/json, text/json, …+json
            json_body = f.load_json(message.body)
        elif ctype == "application/x-www-form-urlencoded":
            params.update(_form_fields(message.body))
        elif ctype == "multipart/form-data":
            raise DecodeError("body", "send form fields as application/x-www-form-urlencoded, or JSON")
    key, fixes = decode_params(params, json_body, datum=message.datum, query_speed_unit=query_speed_unit)
    return Decoded(fixes, device_key=key)


def _form_fields(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("body", "form body is not UTF-8") from None
    try:
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=100))
    except ValueError:
        raise DecodeError("body", "form body has more than 100 fields") from None


def decode_params(
    params: Mapping[str, str] | None,
    json_body: Mapping[str, Any] | None,
    *,
    datum: str = "wgs84",
    query_speed_unit: SpeedUnit = "kn",
) -> tuple[str, list[DecodedFix]]:
    """Decode query/form parameters or a parsed JSON body into (device key, fixes).

    A JSON ``location`` may be one object (Traccar Client) or a list
    (the Transistorsoft plugin's batch mode).
    """
    datum = f.datum(datum, "datum")
    if json_body is not None:
        return _decode_json(json_body, params or {}, datum)
    if not params:
        raise DecodeError("body", "no query parameters and no JSON body")
    if query_speed_unit not in _TO_MPS:
        raise ValueError(f"unknown speed unit {query_speed_unit!r}")
    return _device_key(params), [_decode_query(params, datum, _TO_MPS[query_speed_unit])]


def _device_key(params: Mapping[str, Any]) -> str:
    for name in KEY_PARAMS:
        if params.get(name) not in (None, ""):
            return f.short_text(params[name], name)
    raise DecodeError("id", "is required (the device key)")


def _decode_query(params: Mapping[str, str], datum: str, speed_factor: float) -> DecodedFix:
    p = {k: v for k, v in params.items() if k not in KEY_PARAMS}
    for k, v in p.items():
        if not isinstance(v, str):
            raise DecodeError(k, "must be a string parameter")
    lat_s, lon_s = p.get("lat"), p.get("lon")
    if (lat_s is None or lon_s is None) and p.get("location"):
        lat_s, _, lon_s = p["location"].partition(",")
    lat = f.text_number(lat_s, "lat", lo=-90.0, hi=90.0)
    lon = f.text_number(lon_s, "lon", lo=-180.0, hi=180.0)
    if lat is None or lon is None:
        raise DecodeError("lat" if lat is None else "lon", "is required")
    accuracy = f.text_number(p.get("accuracy"), "accuracy", lo=0.0)
    if accuracy is None:
        accuracy = f.text_number(p.get("hdop"), "hdop", lo=0.0) or None  # 0 = unknown
    speed = f.text_number(p.get("speed"), "speed")
    heading_name = "bearing" if "bearing" in p else "heading"
    heading = f.text_number(p.get(heading_name), heading_name, hi=360.0)
    return DecodedFix(
        client_fix_id=None,
        time=f.flexible_timestamp(p.get("timestamp"), "timestamp"),
        lat=lat,
        lon=lon,
        datum=datum,  # type: ignore[arg-type]
        accuracy_m=accuracy,
        speed_mps=None if speed is None or speed < 0 else speed * speed_factor,
        heading_deg=None if heading is None or heading < 0 else heading,
        altitude_m=f.text_number(p.get("altitude"), "altitude"),
        battery_pct=f.text_number(p.get("batt"), "batt", lo=0.0, hi=100.0),
        charging=f.text_boolean(p.get("charge"), "charge"),
        mock=bool(f.text_boolean(p.get("mock"), "mock")),
        tamper=p.get("alarm", "").strip().lower() in ("tampering", "tamper"),
        raw={"input": dict(p)},
        protocol=PROTOCOL,
    )


def _decode_json(body: Mapping[str, Any], params: Mapping[str, str], datum: str) -> tuple[str, list[DecodedFix]]:
    root = f.require_object(body, "body")
    key = f.short_text(root["device_id"], "device_id") if "device_id" in root else _device_key(params)
    location = root.get("location")
    if isinstance(location, list):
        if not 1 <= len(location) <= MAX_BATCH:
            raise DecodeError("location", f"must hold 1 to {MAX_BATCH} locations, got {len(location)}")
        items = [(loc, f"location[{i}]") for i, loc in enumerate(location)]
    elif location is None:
        raise DecodeError("location", "is required")
    else:
        items = [(location, "location")]
    evidence = {k: v for k, v in root.items() if k not in ("device_id", "location")}
    return key, [_decode_location(loc, path, datum, evidence) for loc, path in items]


def _decode_location(item: Any, path: str, datum: str, evidence: dict[str, Any]) -> DecodedFix:
    loc = f.require_object(item, path)
    time = _json_timestamp(loc.get("timestamp"), f"{path}.timestamp")
    coords = f.require_object(loc.get("coords"), f"{path}.coords")
    c = f"{path}.coords"
    speed = f.opt_number(coords.get("speed"), f"{c}.speed")
    heading = f.opt_number(coords.get("heading"), f"{c}.heading", hi=360.0)
    battery = f.require_object(loc.get("battery") or {}, f"{path}.battery")
    level = f.opt_number(battery.get("level"), f"{path}.battery.level", hi=1.0)
    charging = battery.get("is_charging")
    extras = f.require_object(loc.get("extras") or {}, f"{path}.extras")
    mock = loc.get("mock", False)
    uuid = loc.get("uuid")
    return DecodedFix(
        # The plugin gives every location a uuid: a real per-fix id, so two fixes in
        # the same second are not mistaken for one. The query form has none.
        client_fix_id=None if uuid is None else f.short_text(uuid, f"{path}.uuid"),
        time=time,
        lat=f.latitude(coords.get("latitude"), f"{c}.latitude"),
        lon=f.longitude(coords.get("longitude"), f"{c}.longitude"),
        datum=datum,  # type: ignore[arg-type]
        accuracy_m=f.opt_number(coords.get("accuracy"), f"{c}.accuracy", lo=0.0),
        speed_mps=None if speed is None or speed < 0 else speed,
        heading_deg=None if heading is None or heading < 0 else heading,
        altitude_m=f.opt_number(coords.get("altitude"), f"{c}.altitude"),
        battery_pct=None if level is None or level < 0 else level * 100.0,
        charging=None if charging is None else f.boolean(charging, f"{path}.battery.is_charging"),
        mock=f.boolean(mock, f"{path}.mock") or _mock_in_extras(extras),
        tamper=str(loc.get("alarm") or extras.get("alarm") or "").lower() in ("tampering", "tamper"),
        raw={"input": {**f.json_safe(evidence, ""), "location": f.json_safe(dict(loc), path)}},
        protocol=PROTOCOL,
    )


def _json_timestamp(value: Any, field: str) -> Any:
    # The plugin sends ISO 8601 strings; numbers get the same seconds/milliseconds rule as the query form.
    if isinstance(value, str):
        return f.flexible_timestamp(value, field)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        f.number(value, field)  # finite and representable
        seconds = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return f.unix_seconds(seconds / 1000 if abs(seconds) >= 2**31 - 1 else seconds, field)
    return f.json_time(value, field)


def _mock_in_extras(extras: Mapping[str, Any]) -> bool:
    for name in _MOCK_EXTRAS:
        value = extras.get(name)
        if value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1")) or value == 1:
            return True
    return False
