import json
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.ingest.decoders import native
from geo.ingest.errors import DecodeError


def body(*fixes, **top) -> bytes:
    return json.dumps({"fixes": list(fixes), **top}).encode()


FIX = {"id": "c-1", "time": "2023-11-15T06:13:20+08:00", "lat": 28.9701, "lon": 118.8712, "accuracy": 12.5}


def error(payload) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        native.decode_body(payload)
    return info.value


def test_minimal_fix_from_bytes():
    [fix] = native.decode_body(body(FIX))
    assert fix.client_fix_id == "c-1"
    assert fix.time == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
    assert (fix.lat, fix.lon, fix.datum, fix.accuracy_m) == (28.9701, 118.8712, "wgs84", 12.5)
    assert fix.mock is False and fix.speed_mps is None and fix.charging is None
    assert fix.raw == {"input": FIX}
    assert fix.protocol == "native"


def test_full_fix_from_dict_with_unix_seconds_and_gcj02():
    full = {**FIX, "time": 1700000000.25, "speed": 1.4, "heading": 359.5, "altitude": 70,
            "battery": 87, "charging": True, "mock": True, "tamper": False, "datum": "gcj02"}
    [fix] = native.decode_body({"fixes": [full]})
    assert fix.time == datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=timezone.utc)
    assert fix.datum == "gcj02" and fix.lat == 28.9701  # kept in the declared datum
    assert (fix.speed_mps, fix.heading_deg, fix.altitude_m, fix.battery_pct) == (1.4, 359.5, 70.0, 87.0)
    assert fix.charging is True and fix.mock is True


def test_batch_keeps_order():
    fixes = native.decode_body(body(*[{**FIX, "id": f"c-{i}", "time": 1700000000 + i} for i in range(5)]))
    assert [f.client_fix_id for f in fixes] == [f"c-{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b'{"fixes": [{"id": "a", "time": 1700000000, "lat": NaN, "lon": 1, "accuracy": 1}]}', "fixes[0].lat"),
        (b'{"fixes": [{"id": "a", "time": 1700000000, "lat": 1, "lon": -Infinity, "accuracy": 1}]}', "fixes[0].lon"),
        (b'{"fixes": [{"id": "a", "time": 1700000000, "lat": 1e999, "lon": 1, "accuracy": 1}]}', "fixes[0].lat"),
        (body(FIX, {**FIX, "id": "b", "lat": 90.5}), "fixes[1].lat"),
        (body({**FIX, "lon": -180.01}), "fixes[0].lon"),
        (body({**FIX, "lat": True}), "fixes[0].lat"),
        (body({**FIX, "lat": "28.97"}), "fixes[0].lat"),
        (body({**FIX, "accuracy": -1}), "fixes[0].accuracy"),
        (body({k: v for k, v in FIX.items() if k != "accuracy"}), "fixes[0].accuracy"),
        (body({k: v for k, v in FIX.items() if k != "time"}), "fixes[0].time"),
        (body({**FIX, "time": "2023-11-14T22:13:20"}), "fixes[0].time"),  # no offset
        (body({**FIX, "time": "yesterday"}), "fixes[0].time"),
        (body({**FIX, "time": -5}), "fixes[0].time"),
        (body({**FIX, "time": 1e300}), "fixes[0].time"),
        (body({**FIX, "battery": 101}), "fixes[0].battery"),
        (body({**FIX, "heading": 361}), "fixes[0].heading"),
        (body({**FIX, "speed": -1}), "fixes[0].speed"),
        (body({**FIX, "mock": "yes"}), "fixes[0].mock"),
        (body({**FIX, "datum": "WGS84"}), "fixes[0].datum"),
        (body({**FIX, "acuracy": 5}), "fixes[0].acuracy"),  # unknown key, named
        (body(FIX, device="x"), "device"),
        (body(FIX, {**FIX, "time": 1700000001}), "fixes[1].id"),  # duplicate id
        (body({**FIX, "id": ""}), "fixes[0].id"),
        (body({**FIX, "id": 7}), "fixes[0].id"),
        (body(), "fixes"),
        (body(*[{**FIX, "id": f"c-{i}"} for i in range(1001)]), "fixes"),
        (b'{"fixes": {"0": {}}}', "fixes"),
        (b"[1, 2]", "body"),
        (b"{not json", "body"),
        (b"\xff\xfe\x00garbage", "body"),
        (b"[" * 100_000, "body"),
        (body(["not", "an", "object"]), "fixes[0]"),
    ],
)
def test_errors_name_the_field(payload, field):
    assert error(payload).field == field


def test_exactly_1000_fixes_is_accepted():
    assert len(native.decode_body(body(*[{**FIX, "id": f"c-{i}"} for i in range(1000)]))) == 1000


def test_nan_in_an_already_parsed_dict_is_rejected_too():
    assert error({"fixes": [{**FIX, "accuracy": float("nan")}]}).field == "fixes[0].accuracy"


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
near_fix = st.dictionaries(
    st.sampled_from(sorted(native.ALLOWED) + ["extra"]),
    json_values | st.sampled_from(["2023-11-14T22:13:20Z", "wgs84", "gcj02", 1700000000, 28.9, 200.0]),
    max_size=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        json_values,
        st.builds(lambda fixes: {"fixes": fixes}, st.lists(near_fix | json_values, max_size=5)),
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
    )
)
def test_never_raises_anything_but_decode_error(payload):
    try:
        fixes = native.decode_body(payload)
    except DecodeError as exc:
        assert exc.field and exc.message
        return
    for fix in fixes:
        json.dumps(fix.raw, allow_nan=False)
        fix.payload_fingerprint()


def test_odd_unknown_keys_are_quoted_in_the_field_path():
    assert error(body({**FIX, "a.b": 1})).field == 'fixes[0]["a.b"]'
    assert error({"fixes": [FIX], "": 1}).field == 'body[""]'
