import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.ingest.decoders import owntracks
from geo.ingest.errors import DecodeError

T = datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
HEADERS = {"Content-Type": "application/json", "X-Limit-U": "jane", "X-Limit-D": "phone"}

ANDROID = {
    "_type": "location", "_id": "5f1c2a3b", "acc": 14, "alt": 72, "batt": 85, "bs": 1, "cog": 270,
    "conn": "m", "created_at": 1700000005, "lat": 28.9701, "lon": 118.8712, "m": 1, "t": "u",
    "tid": "ja", "tst": 1700000000, "vac": 3, "vel": 36, "BSSID": "b0:be:76:aa:bb:cc", "SSID": "home-wifi",
    "inregions": ["home"], "inrids": ["6b3a1d2e"], "topic": "owntracks/jane/phone",
}
IOS = {
    "_type": "location", "acc": 5, "alt": 66, "batt": 100, "bs": 3, "conn": "w", "lat": 28.97,
    "lon": 118.87, "m": 2, "p": 101.2, "t": "p", "tid": "JJ", "tst": 1700000000, "vac": 4, "vel": 0,
    "topic": "owntracks/jane/iphone",
}


def test_android_location_with_regions_and_created_at():
    [fix] = owntracks.decode_body(json.dumps(ANDROID).encode(), HEADERS)
    assert fix.time == T and (fix.lat, fix.lon, fix.accuracy_m, fix.altitude_m) == (28.9701, 118.8712, 14, 72)
    assert fix.speed_mps == pytest.approx(10.0) and fix.heading_deg == 270  # 36 km/h
    assert fix.battery_pct == 85 and fix.charging is False
    assert fix.client_fix_id is None and fix.dedup_key.startswith("t:")
    assert fix.raw == {"input": ANDROID, "headers": {"X-Limit-U": "jane", "X-Limit-D": "phone"}}
    assert fix.protocol == "owntracks" and fix.datum == "wgs84"


def test_ios_location_full_battery_counts_as_plugged_in_and_headers_are_case_insensitive():
    [fix] = owntracks.decode_body(IOS, {"x-limit-u": "jane", "x-limit-d": "iphone"})
    assert fix.charging is True and fix.speed_mps == 0
    assert fix.raw["headers"] == {"X-Limit-U": "jane", "X-Limit-D": "iphone"}


@pytest.mark.parametrize(
    "message",
    [
        {"_type": "transition", "wtst": 1699990000, "lat": 28.97, "lon": 118.87, "tst": 1700000000,
         "acc": 10, "tid": "ja", "event": "leave", "desc": "home", "t": "c", "rid": "6b3a1d2e"},
        {"_type": "waypoint", "desc": "home", "lat": 28.97, "lon": 118.87, "rad": 100, "tst": 1699990000},
        {"_type": "waypoints", "waypoints": [{"_type": "waypoint", "desc": "home", "lat": 1, "lon": 2, "tst": 3}]},
        {"_type": "card", "name": "Jane", "face": "iVBORw0KGgo="},
        {"_type": "lwt", "tst": 1700000000},
        {"_type": "status", "android": {"hib": 0, "bo": 1, "loc": 0, "ps": 0, "wifi": 1}},
        {"_type": "steps", "tst": 1700000000, "steps": 1234, "from": 1699990000, "to": 1700000000},
        {"_type": "encrypted", "data": "c2VjcmV0"},
        {"_type": "cmd", "action": "reportLocation"},
    ],
)
def test_other_types_are_accepted_and_yield_nothing(message):
    assert owntracks.decode_body(json.dumps(message).encode(), HEADERS) == []


def test_array_of_messages_keeps_only_locations():
    later = {**IOS, "tst": 1700000060}
    fixes = owntracks.decode_body(json.dumps([ANDROID, {"_type": "lwt", "tst": 1}, later]).encode(), HEADERS)
    assert [f.time.timestamp() for f in fixes] == [1700000000, 1700000060]
    assert owntracks.decode_body(b"[]", HEADERS) == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**IOS, "lat": 95}, "lat"),
        ({k: v for k, v in IOS.items() if k != "tst"}, "tst"),
        ({**IOS, "tst": "1700000000"}, "tst"),
        ({**IOS, "acc": -1}, "acc"),
        ({**IOS, "batt": 120}, "batt"),
        ({**IOS, "bs": 7}, "bs"),
        ({k: v for k, v in IOS.items() if k != "_type"}, "_type"),
        ([IOS, {**IOS, "lon": None}], "[1].lon"),
        ([IOS, "x"], "[1]"),
    ],
)
def test_errors_name_the_field(payload, field):
    with pytest.raises(DecodeError) as info:
        owntracks.decode_body(json.dumps(payload).encode(), HEADERS)
    assert info.value.field == field


def test_nan_literal_is_rejected_with_its_field():
    raw = json.dumps(IOS).replace('"lat": 28.97', '"lat": NaN').encode()
    with pytest.raises(DecodeError) as info:
        owntracks.decode_body(raw, HEADERS)
    assert info.value.field == "lat"


def test_nan_in_an_ignored_key_still_cannot_poison_the_evidence():
    raw = json.dumps(IOS).replace('"p": 101.2', '"p": NaN').encode()
    with pytest.raises(DecodeError) as info:
        owntracks.decode_body(raw, HEADERS)
    assert info.value.field == "p"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
near_location = st.fixed_dictionaries({"_type": st.just("location")}).flatmap(
    lambda base: st.dictionaries(st.sampled_from(sorted(IOS)), json_values | st.sampled_from([1700000000, 28.9, 3]))
    .map(lambda d: {**d, **base})
)


@settings(max_examples=200, deadline=None)
@given(json_values | near_location | st.lists(near_location | json_values, max_size=3) | st.binary(max_size=100))
def test_never_raises_anything_but_decode_error(payload):
    try:
        fixes = owntracks.decode_body(payload, HEADERS)
    except DecodeError:
        return
    for fix in fixes:
        json.dumps(fix.raw, allow_nan=False)
