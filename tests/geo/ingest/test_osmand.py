import json
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.ingest.decoders import osmand
from geo.ingest.errors import DecodeError

T = datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
KNOT = 1852 / 3600


def decode_one(params, json_body, **kw):
    """(device key, the one fix) of a request that carries one location."""
    key, fixes = osmand.decode_params(params, json_body, **kw)
    assert len(fixes) == 1
    return key, fixes[0]


def query(url: str) -> dict[str, str]:
    """The parameters as Starlette would hand them over (last value wins)."""
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


# What Traccar Client for Android puts on the wire (POST with the query string, empty body).
TRACCAR_ANDROID = (
    "http://zhijiao.example:5055/?id=356938035643809&timestamp=1700000000&lat=28.97&lon=118.87"
    "&speed=0.0&bearing=0.0&altitude=70.0&accuracy=12.0&batt=87.0"
)


def test_traccar_client_android_query():
    key, fix = decode_one(query(TRACCAR_ANDROID), None)
    assert key == "356938035643809"
    assert fix.time == T and (fix.lat, fix.lon) == (28.97, 118.87)
    assert (fix.speed_mps, fix.heading_deg, fix.altitude_m, fix.accuracy_m, fix.battery_pct) == (0, 0, 70, 12, 87)
    assert fix.client_fix_id is None and fix.dedup_key == "t:2023-11-14T22:13:20.000000+00:00"
    assert fix.datum == "wgs84" and fix.protocol == "osmand" and fix.mock is False and fix.charging is None


def test_device_key_is_not_kept_in_raw_evidence():
    key, fix = decode_one(query(TRACCAR_ANDROID), None)
    assert key not in json.dumps(fix.raw)
    assert fix.raw["input"]["lat"] == "28.97"  # strings exactly as received


def test_speed_is_knots_charge_and_mock_are_read():
    params = query(TRACCAR_ANDROID + "&charge=true&mock=true") | {"speed": "10.0"}
    _, fix = decode_one(params, None)
    assert fix.speed_mps == pytest.approx(10 * KNOT)
    assert fix.charging is True and fix.mock is True


def test_osmand_app_tracker_template_with_ms_timestamp_and_hdop():
    # OsmAnd: Trip recording > Online tracking, URL template
    # https://host/osmand?id=KEY&lat={0}&lon={1}&timestamp={2}&hdop={3}&altitude={4}&speed={5}
    url = "https://zhijiao.example/osmand?id=k-42&lat=28.9701&lon=118.8712&timestamp=1700000000123&hdop=9.0&altitude=71.5&speed=1.2"
    key, fix = decode_one(query(url), None, query_speed_unit="mps")
    assert key == "k-42"
    assert fix.time == T.replace(microsecond=123000)
    assert fix.accuracy_m == 9.0  # OsmAnd's {3} is Android's accuracy in metres
    assert fix.speed_mps == 1.2 and fix.altitude_m == 71.5


def test_osmand_zero_hdop_means_unknown_accuracy():
    _, fix = decode_one({"id": "k", "lat": "1", "lon": "2", "timestamp": "1700000000", "hdop": "0"}, None)
    assert fix.accuracy_m is None


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("1700000000", T),
        ("1700000000000", T),
        ("1700000000.5", T.replace(microsecond=500000)),
        ("2023-11-14T22:13:20Z", T),
        ("2023-11-15T06:13:20+08:00", T),
        ("2023-11-14 22:13:20", T),  # Traccar Client's spaced form, no offset: UTC, as Traccar reads it
        ("2023-11-14 22:13:20.5", T.replace(microsecond=500000)),
    ],
)
def test_timestamp_forms(stamp, expected):
    _, fix = decode_one({"id": "k", "lat": "1", "lon": "2", "timestamp": stamp}, None)
    assert fix.time == expected


def test_form_parameters_with_deviceid_alias_and_location_pair():
    _, fix = decode_one({"deviceid": "k", "location": "28.97,118.87", "timestamp": "1700000000", "heading": "-1"}, None)
    assert (fix.lat, fix.lon, fix.heading_deg) == (28.97, 118.87, None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timestamp": None}, "timestamp"),
        ({"timestamp": ""}, "timestamp"),
        ({"timestamp": "2023-11-14T22:13:20"}, "timestamp"),  # ISO T form, no offset: local-time guess refused
        ({"timestamp": "soon"}, "timestamp"),
        ({"lat": None}, "lat"),
        ({"lat": "nan"}, "lat"),
        ({"lat": "NaN"}, "lat"),
        ({"lon": "inf"}, "lon"),
        ({"lat": "91"}, "lat"),
        ({"lon": "1_000"}, "lon"),
        ({"accuracy": "-3"}, "accuracy"),
        ({"batt": "187"}, "batt"),
        ({"charge": "maybe"}, "charge"),
        ({"id": None}, "id"),
    ],
)
def test_query_errors_name_the_field(change, field):
    params = {k: v for k, v in (query(TRACCAR_ANDROID) | change).items() if v is not None}
    with pytest.raises(DecodeError) as info:
        decode_one(params, None)
    assert info.value.field == field


def test_nothing_at_all_is_an_error():
    with pytest.raises(DecodeError):
        decode_one(None, None)


# Traccar Client 9 (Transistorsoft background geolocation) POSTs this JSON.
TRACCAR_JSON = {
    "location": {
        "event": "motionchange",
        "is_moving": False,
        "uuid": "7d3c2c8e-5a0b-4a53-9f0a-2f6a3d0c9b11",
        "timestamp": "2023-11-14T22:13:20.000Z",
        "odometer": 0,
        "coords": {
            "latitude": 28.9701,
            "longitude": 118.8712,
            "accuracy": 12.5,
            "speed": -1,
            "speed_accuracy": -1,
            "heading": -1,
            "heading_accuracy": -1,
            "altitude": 70.2,
            "ellipsoidal_altitude": 70.2,
            "altitude_accuracy": 3.1,
            "floor": None,
        },
        "activity": {"type": "still", "confidence": 100},
        "battery": {"is_charging": False, "level": 0.87},
        "extras": {},
    },
    "device_id": "356938035643809",
}


def test_traccar_client_json():
    key, fix = decode_one(None, TRACCAR_JSON)
    assert key == "356938035643809"
    assert fix.time == T and (fix.lat, fix.lon, fix.accuracy_m, fix.altitude_m) == (28.9701, 118.8712, 12.5, 70.2)
    assert fix.speed_mps is None and fix.heading_deg is None  # -1 = unknown
    assert fix.battery_pct == pytest.approx(87.0) and fix.charging is False and fix.mock is False
    assert fix.client_fix_id == "7d3c2c8e-5a0b-4a53-9f0a-2f6a3d0c9b11"
    assert "device_id" not in fix.raw["input"] and fix.raw["input"]["location"]["event"] == "motionchange"


def test_json_speed_is_metres_per_second_and_mock_comes_from_location_or_extras():
    moving = json.loads(json.dumps(TRACCAR_JSON))
    moving["location"]["coords"] |= {"speed": 13.9, "heading": 90.0}
    moving["location"]["mock"] = True
    _, fix = decode_one(None, moving)
    assert (fix.speed_mps, fix.heading_deg, fix.mock) == (13.9, 90.0, True)
    extras = json.loads(json.dumps(TRACCAR_JSON))
    extras["location"]["extras"] = {"isFromMockProvider": "true"}
    assert decode_one(None, extras)[1].mock is True


def test_json_location_as_a_one_element_list_and_batches():
    single = {**TRACCAR_JSON, "location": [TRACCAR_JSON["location"]]}
    assert decode_one(None, single)[1].time == T
    second = {**TRACCAR_JSON["location"], "uuid": "other", "timestamp": "2023-11-14T22:13:30Z"}
    batch = {**TRACCAR_JSON, "location": [TRACCAR_JSON["location"], second]}
    key, fixes = osmand.decode_params(None, batch)
    assert [f.client_fix_id for f in fixes] == ["7d3c2c8e-5a0b-4a53-9f0a-2f6a3d0c9b11", "other"]


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("location", "timestamp"), None, "location.timestamp"),
        (("location", "coords", "latitude"), float("nan"), "location.coords.latitude"),
        (("location", "coords", "longitude"), 200, "location.coords.longitude"),
        (("location", "coords", "accuracy"), -5, "location.coords.accuracy"),
        (("location", "battery", "level"), 1.5, "location.battery.level"),
        (("location", "mock"), "true", "location.mock"),
        (("device_id",), "", "device_id"),
    ],
)
def test_json_errors_name_the_field(path, value, field):
    body = json.loads(json.dumps(TRACCAR_JSON))
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    with pytest.raises(DecodeError) as info:
        decode_one(None, body)
    assert info.value.field == field


def test_json_device_key_may_come_from_the_query_string():
    body = {k: v for k, v in TRACCAR_JSON.items() if k != "device_id"}
    assert decode_one({"id": "from-url"}, body)[0] == "from-url"


param_names = st.sampled_from(["id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing",
                               "heading", "altitude", "accuracy", "hdop", "batt", "charge", "mock", "alarm", "x"])
param_values = st.text(max_size=25) | st.sampled_from(["1700000000", "28.97", "-1", "true", "1e999", "NaN", "1,2"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(param_names, param_values, max_size=12))
def test_query_never_raises_anything_but_decode_error(params):
    try:
        decode_one(params, None)
    except DecodeError:
        pass


def test_one_signature_reads_query_form_and_json_messages():
    """decode(DeviceMessage) reads every OsmAnd shape; the route passes bytes only."""
    from geo.ingest.decoders import DeviceMessage

    url_form = DeviceMessage(query=query(TRACCAR_ANDROID))
    form = DeviceMessage(body=urlsplit(TRACCAR_ANDROID).query.encode(),
                         content_type="application/x-www-form-urlencoded; charset=utf-8")
    body = DeviceMessage(body=json.dumps(TRACCAR_JSON).encode(), content_type="application/json")
    for message in (url_form, form):
        decoded = osmand.decode(message)
        assert decoded.device_key == "356938035643809" and decoded.fixes[0].time == T
    decoded = osmand.decode(body)
    assert decoded.device_key == TRACCAR_JSON["device_id"] and len(decoded.fixes) == 1
    with pytest.raises(DecodeError) as info:
        osmand.decode(DeviceMessage(body=b"--x\r\n", content_type="multipart/form-data; boundary=x"))
    assert info.value.field == "body"


def test_spaced_timestamp_without_offset_is_accepted_as_utc_but_iso_t_form_is_not():
    _, fix = decode_one({"id": "k", "lat": "1", "lon": "2", "timestamp": "2023-11-14 22:13:20"}, None)
    assert fix.time == T
    with pytest.raises(DecodeError) as info:
        decode_one({"id": "k", "lat": "1", "lon": "2", "timestamp": "2023-11-14T22:13:20"}, None)
    assert info.value.field == "timestamp"
