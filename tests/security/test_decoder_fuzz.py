"""Hypothesis on every input parser a stranger's bytes reach: the ingest decoders (through their
one signature, ``decode(DeviceMessage)``), GPX, and the GeoJSON / circle validator.

Each may answer only with its declared validation error (DecodeError naming a field,
GeometryError with a reason), never anything else, and within a second per case (the
deadline): no input shape may make a parser blow up (deep nesting, huge numbers, odd
encodings). What a decoder accepts must be storable: finite, in range, JSON-safe evidence.

Short run in ./dev test; ``ZHIJIAO_FUZZ_LONG=1`` multiplies the examples (LONG_FACTOR).
"""
from __future__ import annotations

import json
import math
import os
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.geometry_input import GeometryError, parse_circle, parse_geojson
from geo.ingest.decoders import DeviceMessage, gpx, native, osmand, owntracks
from geo.ingest.errors import DecodeError
from tests.security import figures

LONG_FACTOR = 25 if os.environ.get("ZHIJIAO_FUZZ_LONG") == "1" else 1
FUZZ = settings(max_examples=150 * LONG_FACTOR, deadline=timedelta(seconds=1), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- values ---------------------------------------------------------------------------

numbers = st.one_of(st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, -0.0, 90, -90, 180, -180.0000001, 1e308, 2**63, 28.95, 118.95, 1700000000,
                                     1700000000000, 253402300800]))
texts = st.one_of(st.text(max_size=24), st.sampled_from(["", "\x00", "\ud800", "NaN", "Infinity", "1e400", "0x10",
                                                         "2023-11-14T22:13:20Z", "2023-11-14 22:13:20",
                                                         "2023-11-14T22:13:20", "9999-12-31T23:59:59+14:00",
                                                         "wgs84", "gcj02", "bd09", "true", "on"]))
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(texts, inner, max_size=4), max_leaves=40)


def deep(depth: int) -> str:
    """A JSON text nested ``depth`` deep (a stack-depth attack)."""
    return "[" * depth + "]" * depth


def _near(keys) -> st.SearchStrategy[dict]:
    """Objects with the protocol's own keys (so cases go past the first check) and odd values."""
    return st.dictionaries(st.sampled_from(sorted(keys) + ["extra", "_type"]), json_values | scalars, max_size=10)


def _encode(value) -> bytes:
    return json.dumps(value, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")


def bodies(near: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    return st.one_of(near.map(_encode), json_values.map(_encode), st.binary(max_size=300),
                     st.integers(1, 5000).map(lambda d: deep(d).encode()),
                     st.lists(near, max_size=5).map(_encode))


content_types = st.sampled_from(["application/json", "application/json; charset=utf-16", "text/plain", "",
                                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                 "application/json;;;", "x/y"])

# --- the decoders ---------------------------------------------------------------------

NATIVE_FIX = sorted(native.ALLOWED)
OSMAND_PARAMS = ["id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing", "altitude", "accuracy",
                 "hdop", "batt", "charge", "mock", "valid", "driverUniqueId"]
OWNTRACKS = ["_type", "lat", "lon", "tst", "acc", "alt", "vel", "cog", "batt", "bs", "tid", "created_at", "m", "t"]


def _accepted(decoded) -> None:
    for fix in decoded.fixes:
        assert math.isfinite(fix.lat) and -90 <= fix.lat <= 90, fix
        assert math.isfinite(fix.lon) and -180 <= fix.lon <= 180, fix
        assert fix.accuracy_m is None or (math.isfinite(fix.accuracy_m) and fix.accuracy_m >= 0), fix
        json.dumps(fix.raw, allow_nan=False)  # storable evidence


def _only_decode_error(decoder, message: DeviceMessage) -> None:
    figures.add("parser_cases")
    try:
        decoded = decoder(message)
    except DecodeError as exc:
        assert isinstance(exc.field, str) and exc.field and exc.message, exc
        return
    _accepted(decoded)


@FUZZ
@given(body=bodies(st.builds(lambda fixes: {"fixes": fixes}, st.lists(_near(NATIVE_FIX), max_size=4))),
       content_type=content_types)
def test_native(body, content_type):
    _only_decode_error(native.decode, DeviceMessage(body=body, content_type=content_type))


@FUZZ
@given(query=st.dictionaries(st.sampled_from(OSMAND_PARAMS), texts, max_size=10),
       body=bodies(st.builds(lambda loc, key: {"device_id": key, "location": loc},
                             _near(["timestamp", "coords", "battery", "is_moving", "extras", "mock"]) |
                             st.lists(_near(["timestamp", "coords"]), max_size=3), texts)),
       content_type=content_types)
def test_osmand(query, body, content_type):
    _only_decode_error(osmand.decode, DeviceMessage(body=body, content_type=content_type, query=query))


@FUZZ
@given(body=bodies(_near(OWNTRACKS)), content_type=content_types,
       headers=st.dictionaries(st.sampled_from(["x-limit-u", "x-limit-d", "X-Limit-U", "content-type"]), texts,
                               max_size=3))
def test_owntracks(body, content_type, headers):
    _only_decode_error(owntracks.decode, DeviceMessage(body=body, content_type=content_type, headers=headers))


# --- GPX ------------------------------------------------------------------------------

_ENCODINGS = st.sampled_from(["UTF-8", "utf-8", "UTF-16", "UTF-7", "ISO-8859-1", "GB2312", "GBK", "ascii", "x-junk",
                              ""])
_POINT = st.builds(lambda lat, lon, t, extra: f'<trkpt lat="{lat}" lon="{lon}"><time>{t}</time>{extra}</trkpt>',
                   texts | numbers.map(str), texts | numbers.map(str), texts,
                   st.sampled_from(["", "<ele>70</ele>", "<hdop>x</hdop>", "<speed>-1</speed>", "<ele>1e999</ele>",
                                    "<extensions><a><b/></a></extensions>"]))


def _gpx(encoding: str, points: list[str], root: str) -> bytes:
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else ""
    doc = f'{declaration}<{root} version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>' \
          f'{"".join(points)}</trkseg></trk></{root}>'
    return doc.encode("utf-8", "surrogatepass")


@FUZZ
@given(data=st.one_of(st.builds(_gpx, _ENCODINGS, st.lists(_POINT, max_size=5), st.sampled_from(["gpx", "kml", "x"])),
                      st.binary(max_size=400),
                      st.integers(1, 3000).map(lambda d: ("<gpx>" + "<a>" * d + "</a>" * d + "</gpx>").encode())),
       datum=st.sampled_from(["wgs84", "gcj02", "bd09", "epsg:4490", ""]))
def test_gpx(data, datum):
    _only_decode_error(gpx.decode, DeviceMessage(body=data, content_type="application/gpx+xml", datum=datum))


# --- GeoJSON and circles ----------------------------------------------------------------

positions = st.lists(numbers | texts | st.none() | st.booleans(), min_size=0, max_size=4) | st.just([118.95, 28.95])
rings = st.lists(positions, max_size=8) | st.builds(
    lambda lon, lat, r: [[lon, lat], [lon + r, lat], [lon + r, lat + r], [lon, lat + r], [lon, lat]],
    st.floats(-181, 181), st.floats(-91, 91), st.floats(-1, 100))
polygons = st.lists(rings, max_size=3)
geojson = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["Polygon", "MultiPolygon", "Point", "polygon", "Feature"]),
                           "coordinates": polygons | st.lists(polygons, max_size=3) | json_values},
                          optional={"bbox": json_values | st.lists(numbers, max_size=6),
                                    "properties": json_values, "crs": json_values, "extra": json_values}),
    json_values,
    # As deep as a JSON body can arrive (the parser stops near 1,000 levels).
    st.integers(1, 900).map(lambda d: {"type": "Polygon", "coordinates": json.loads(deep(d))}),
)


@FUZZ
@given(doc=geojson, datum=st.sampled_from(["wgs84", "gcj02", "bd09"]))
def test_geojson(doc, datum):
    figures.add("parser_cases")
    try:
        parsed = parse_geojson(doc, datum)
    except GeometryError as exc:
        assert str(exc)
        return
    assert parsed.geometry.is_valid and not parsed.geometry.is_empty
    json.dumps(parsed.geojson, allow_nan=False)  # the evidence kept is storable


@FUZZ
@given(lon=numbers.filter(lambda v: isinstance(v, float)) | st.floats(-200, 200),
       lat=st.floats(allow_nan=True) | st.floats(-100, 100), radius=st.floats(allow_nan=True) | st.floats(-1, 1e6),
       datum=st.sampled_from(["wgs84", "gcj02", "bd09"]))
def test_circle(lon, lat, radius, datum):
    figures.add("parser_cases")
    try:
        parsed = parse_circle(lon, lat, radius, datum)
    except GeometryError as exc:
        assert str(exc)
        return
    assert parsed.radius_m and parsed.radius_m > 0
