"""JT/T 808 codec and location decoder, on frames laid out from the standard."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from geo.ingest.decoders import DeviceMessage, jt808
from geo.ingest.errors import DecodeError
from geo.ingest.jt808 import codec, messages as m
from tests.geo.ingest import jt808_frames as jf

PHONE = "13912345678"
T = datetime(2026, 11, 30, 2, 3, 4, tzinfo=UTC)  # 10:03:04 in GMT+8


def test_heartbeat_frame_byte_for_byte():
    # 0002 | 0000 (empty body) | 01 39 12 34 56 78 | 00 07 | XOR
    content = bytes.fromhex("0002" "0000" "013912345678" "0007")
    check = 0
    for b in content:
        check ^= b
    frame = codec.decode_frame(content + bytes([check]))
    assert frame.header == codec.Header(msg_id=0x0002, version=2013, phone="013912345678", serial=7, body_length=0)
    assert frame.header.terminal == PHONE and frame.body == b""


def test_escapes_both_ways():
    assert codec.escape(b"\x30\x7e\x08\x7d\x55") == b"\x30\x7d\x02\x08\x7d\x01\x55"
    assert codec.unescape(b"\x30\x7d\x02\x08\x7d\x01\x55") == b"\x30\x7e\x08\x7d\x55"
    for bad in (b"\x30\x7d", b"\x30\x7d\x03", b"\x30\x7e"):
        with pytest.raises(codec.FrameError):
            codec.unescape(bad)


def test_location_fields_units_and_zone():
    extras = bytes([0x01, 4]) + (12345).to_bytes(4, "big") + bytes([0x30, 1, 23, 0xE4, 2, 0, 1])
    body = jf.location(T, 28.951234, 118.871234, speed_kmh=36.0, course=270, altitude=65, extras=extras)
    [fix] = jt808.decode(DeviceMessage(body=jf.frame(0x0200, body, PHONE, 1))).fixes
    assert fix.time == T  # the BCD time is GMT+8
    assert (fix.lat, fix.lon, fix.datum) == (pytest.approx(28.951234), pytest.approx(118.871234), "wgs84")
    assert fix.speed_mps == pytest.approx(10.0) and fix.heading_deg == 270 and fix.altitude_m == 65
    assert fix.accuracy_m == jt808.NOMINAL_ACCURACY_M and not fix.tamper
    assert fix.battery_pct == pytest.approx(100 / 6) and fix.charging is False
    assert fix.raw["mileage_km"] == 1234.5 and fix.raw["signal"] == 23 and fix.protocol == "jt808"


def test_south_west_and_2019_header():
    body = jf.location(T, -33.5, -70.25)
    frame = codec.decode_frame(jf.frame(0x0200, body, PHONE, 2, v2019=True))
    assert frame.header.version == 2019 and frame.header.phone == PHONE.rjust(20, "0")
    assert frame.header.terminal == PHONE
    [fix] = jt808.fixes_of(frame)
    assert (fix.lat, fix.lon) == (-33.5, -70.25)


def test_alarm_bits_tamper_power_gnss():
    [fix] = jt808.fixes_of(codec.decode_frame(jf.frame(0x0200, jf.location(T, 29, 119, alarm=1 << 26 | 1 << 7),
                                                       PHONE, 3)))
    assert fix.tamper and set(fix.raw["alarms"]) == {"tamper", "power_low"}
    # GNSS module fault: kept, but without an accuracy (the pipeline flags it, never judges it)
    [fix] = jt808.fixes_of(codec.decode_frame(jf.frame(0x0200, jf.location(T, 29, 119, alarm=1 << 4), PHONE, 4)))
    assert fix.accuracy_m is None and "gnss_fault" in fix.raw["alarms"]
    [fix] = jt808.fixes_of(codec.decode_frame(jf.frame(0x0200, jf.location(T, 0, 0, status=0), PHONE, 5)))
    assert fix.accuracy_m is None and fix.raw["positioned"] is False


def test_batch_upload():
    items = [jf.location(T.replace(minute=i), 29, 119 + i / 1000) for i in range(3)]
    fixes = jt808.fixes_of(codec.decode_frame(jf.frame(0x0704, jf.batch(items), PHONE, 6)))
    assert [f.time.minute for f in fixes] == [0, 1, 2] and {f.raw["msg"] for f in fixes} == {"0704"}


def test_registration_and_authentication_bodies():
    reg = m.parse_registration(jf.registration(), 2013)
    assert (reg.province, reg.city, reg.manufacturer, reg.model, reg.terminal_id) == (33, 803, "ZJ", "WB-1", "T000001")
    assert m.parse_registration(jf.registration(v2019=True), 2019).terminal_id == "T000001"
    assert m.parse_authentication(jf.authentication("abc123"), 2013).code == "abc123"
    auth = m.parse_authentication(jf.authentication("abc123", v2019=True), 2019)
    assert (auth.code, auth.imei, auth.software) == ("abc123", "860000000000001", "1.0")


def test_platform_frames_are_readable_by_the_standard():
    out = codec.encode_frame(0x8001, m.general_response(0x7E7D, 0x0200, 0), phone="013912345678", serial=9)
    [content] = jf.split_frames(out)
    msg_id, _, body = jf.parse_answer(content)
    assert msg_id == 0x8001 and body == bytes.fromhex("7e7d020000")


def test_bad_checksum_keeps_the_header():
    with pytest.raises(codec.FrameError) as err:
        codec.decode_frame(jf.frame(0x0200, jf.location(T, 29, 119), PHONE, 41, bad_checksum=True))
    assert err.value.field == "checksum" and err.value.header.serial == 41


def test_bad_escape_after_the_header_keeps_it_inside_it_does_not():
    good = jf.frame(0x0002, b"", PHONE, 42)[1:-1]
    with pytest.raises(codec.FrameError) as err:
        codec.decode_frame(good[:-1] + b"\x7d\x05")
    assert err.value.header is not None and err.value.header.serial == 42
    with pytest.raises(codec.FrameError) as err:
        codec.decode_frame(good[:3] + b"\x7d\x05" + good[3:])
    assert err.value.header is None


def test_length_mismatch_and_bad_values():
    data = jf.header(0x0200, 50, PHONE, 1) + jf.location(T, 29, 119)
    with pytest.raises(codec.FrameError, match="header says 50"):
        codec.decode_frame(codec.escape(data + bytes([jf.xor(data)])))
    bad_time = jf.location(T, 29, 119)[:22] + bytes.fromhex("261399000000")
    with pytest.raises(DecodeError, match="time"):
        jt808.fixes_of(codec.decode_frame(jf.frame(0x0200, bad_time, PHONE, 1)))
    with pytest.raises(DecodeError, match="position"):
        jt808.fixes_of(codec.decode_frame(jf.frame(0x0200, jf.location(T, 91, 119), PHONE, 1)))


def _decode_all(data: bytes) -> None:
    try:
        jt808.decode(DeviceMessage(body=data))
    except DecodeError:
        pass  # the one declared error


@hsettings(max_examples=400, deadline=1000)
@given(st.binary(max_size=600))
def test_fuzz_random_bytes_raise_only_decode_error(data):
    _decode_all(data)


@hsettings(max_examples=400, deadline=1000)
@given(st.sampled_from([0x0200, 0x0704, 0x0100, 0x0102]), st.binary(max_size=400), st.booleans())
def test_fuzz_well_framed_bodies_raise_only_decode_error(msg_id, body, v2019):
    _decode_all(jf.frame(msg_id, body[:1023], PHONE, 1, v2019=v2019))
    try:
        m.parse_registration(body, 2019 if v2019 else 2013)
        m.parse_authentication(body, 2019 if v2019 else 2013)
    except DecodeError:
        pass


@hsettings(max_examples=300, deadline=1000)
@given(st.integers(0, 200), st.integers(0, 255))
def test_fuzz_one_corrupted_byte(position, value):
    items = [jf.location(T, 29, 119, extras=bytes([0x30, 1, 9])) for _ in range(2)]
    data = bytearray(jf.frame(0x0704, jf.batch(items), PHONE, 1))
    data[min(position, len(data) - 1)] = value
    _decode_all(bytes(data))
