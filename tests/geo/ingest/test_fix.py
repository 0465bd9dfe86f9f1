from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from geo.ingest.fix import DecodedFix

T = datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)


def make(**kw) -> DecodedFix:
    base = dict(client_fix_id=None, time=T, lat=28.97, lon=118.87, datum="wgs84", accuracy_m=12.0)
    return DecodedFix(**{**base, **kw})


def test_time_is_normalised_to_utc_so_keys_do_not_depend_on_the_offset():
    beijing = T.astimezone(timezone(timedelta(hours=8)))
    a, b = make(time=T), make(time=beijing)
    assert b.time.tzinfo == timezone.utc
    assert a.dedup_key == b.dedup_key == "t:2023-11-14T22:13:20.000000+00:00"


def test_dedup_key_prefers_the_client_id():
    assert make(client_fix_id="c-1").dedup_key == "c-1"


def test_naive_time_and_unknown_datum_are_programming_errors():
    with pytest.raises(ValueError):
        make(time=T.replace(tzinfo=None))
    with pytest.raises(ValueError):
        make(datum="cgcs2000")


def test_fingerprint_ignores_raw_and_protocol_but_not_position():
    a = make(raw={"input": {"x": 1}}, protocol="osmand")
    b = make(raw={"input": {"x": 2}, "headers": {"X-Limit-U": "u"}}, protocol="owntracks")
    assert a.payload_fingerprint() == b.payload_fingerprint()
    assert a.payload_fingerprint() != replace(a, lat=28.9701).payload_fingerprint()
    assert a.payload_fingerprint() != replace(a, mock=True).payload_fingerprint()
    assert make(battery_pct=87).payload_fingerprint() == make(battery_pct=87.0).payload_fingerprint()
    assert make(speed_mps=-0.0).payload_fingerprint() == make(speed_mps=0.0).payload_fingerprint()


def test_fix_is_hashable_despite_raw_dict():
    assert hash(make(raw={"input": {}})) == hash(make(raw={"input": {"other": 1}}))
