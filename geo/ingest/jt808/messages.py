"""JT/T 808 message bodies: those a terminal sends that we read, and our answers.

Multi-byte integers are big-endian; STRING is GBK. Every read is bounds-checked
and raises ``DecodeError`` naming the field, never IndexError.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from geo.ingest.errors import DecodeError
from geo.ingest.jt808.codec import VERSION_2019, bcd_digits

# Message ids (terminal → platform)
HEARTBEAT = 0x0002
LOGOUT = 0x0003
REGISTER = 0x0100
AUTHENTICATE = 0x0102
LOCATION = 0x0200
BATCH = 0x0704
# platform → terminal
GENERAL_RESPONSE = 0x8001
REGISTER_RESPONSE = 0x8100

# 0x8001 results
OK, FAILURE, MESSAGE_ERROR, NOT_SUPPORTED = 0, 1, 2, 3
# 0x8100 results
REG_OK, REG_VEHICLE_TAKEN, REG_NO_VEHICLE, REG_TERMINAL_TAKEN, REG_NO_TERMINAL = 0, 1, 2, 3, 4

BEIJING = timezone(timedelta(hours=8))  # the standard's GMT+8
LOCATION_BASE = 28  # alarm, status, lat, lon, altitude, speed, course, time


def _need(body: bytes, at: int, n: int, field: str) -> None:
    if len(body) < at + n:
        raise DecodeError(field, f"message too short ({len(body)} bytes)")


def _text(raw: bytes) -> str:
    # Fixed-size fields are padded with NUL (or spaces); GBK per the standard.
    return raw.split(b"\x00", 1)[0].decode("gbk", errors="replace").strip()


@dataclass(frozen=True, slots=True)
class Registration:
    province: int
    city: int
    manufacturer: str
    model: str
    terminal_id: str
    plate_color: int
    plate: str


def parse_registration(body: bytes, version: int) -> Registration:
    """0x0100: 2013 = WORD, WORD, BYTE[5], BYTE[20], BYTE[7], BYTE, STRING; 2019 widens to 11/30/30."""
    sizes = (11, 30, 30) if version == VERSION_2019 else (5, 20, 7)
    fixed = 4 + sum(sizes) + 1
    _need(body, 0, fixed, "registration")
    province, city = struct.unpack_from(">HH", body)
    at = 4
    parts = []
    for size in sizes:
        parts.append(_text(body[at:at + size]))
        at += size
    return Registration(province, city, *parts, plate_color=body[at], plate=_text(body[at + 1:]))


@dataclass(frozen=True, slots=True)
class Authentication:
    code: str
    imei: str = ""
    software: str = ""


def parse_authentication(body: bytes, version: int) -> Authentication:
    """0x0102: 2013 = the auth code (the whole body); 2019 = length BYTE, code, IMEI BYTE[15], version BYTE[20]."""
    if version != VERSION_2019:
        return Authentication(_text(body))
    _need(body, 0, 1, "authentication")
    n = body[0]
    _need(body, 1, n, "authentication.code")
    code = _text(body[1:1 + n])
    rest = body[1 + n:]
    return Authentication(code, _text(rest[:15]), _text(rest[15:35]))


@dataclass(frozen=True, slots=True)
class Location:
    alarm: int
    status: int
    lat: float  # degrees WGS-84, signed by the status bits
    lon: float
    altitude_m: int
    speed_kmh: float
    course: int
    time: datetime  # UTC
    extras: dict[int, bytes]  # additional information items, by id


def bcd_time(raw: bytes, field: str = "time") -> datetime:
    """BCD[6] YY-MM-DD-hh-mm-ss in GMT+8 (the standard's time zone), as UTC."""
    try:
        d = bcd_digits(raw)
        t = datetime(2000 + int(d[0:2]), int(d[2:4]), int(d[4:6]), int(d[6:8]), int(d[8:10]), int(d[10:12]),
                     tzinfo=BEIJING)
    except (DecodeError, ValueError):
        raise DecodeError(field, f"not a BCD date-time: {raw.hex()}") from None
    return t.astimezone(timezone.utc)


def parse_location(body: bytes, field: str = "location") -> Location:
    """0x0200 basic information (28 bytes) and the additional items (id BYTE, length BYTE, value)."""
    _need(body, 0, LOCATION_BASE, field)
    alarm, status, lat, lon, alt, speed, course = struct.unpack_from(">IIIIhHH", body)
    if lat > 90_000_000 or lon > 180_000_000:
        raise DecodeError(f"{field}.position", f"out of range ({lat}, {lon} in 1e-6 degrees)")
    extras: dict[int, bytes] = {}
    at = LOCATION_BASE
    while at < len(body):
        _need(body, at, 2, f"{field}.extra")
        item, n = body[at], body[at + 1]
        _need(body, at + 2, n, f"{field}.extra[0x{item:02X}]")
        extras[item] = body[at + 2:at + 2 + n]
        at += 2 + n
    return Location(alarm=alarm, status=status, lat=(-lat if status & 0x4 else lat) / 1e6,
                    lon=(-lon if status & 0x8 else lon) / 1e6, altitude_m=alt, speed_kmh=speed / 10.0,
                    course=course, time=bcd_time(body[22:28], f"{field}.time"), extras=extras)


MAX_BATCH = 1000


def parse_batch(body: bytes) -> tuple[int, list[bytes]]:
    """0x0704: count WORD, type BYTE (0 normal, 1 blind-area backlog), then count × (length WORD, 0x0200 body)."""
    _need(body, 0, 3, "batch")
    count, kind = struct.unpack_from(">HB", body)
    if not 1 <= count <= MAX_BATCH:
        raise DecodeError("batch.count", f"must be 1 to {MAX_BATCH}, got {count}")
    items, at = [], 3
    for i in range(count):
        _need(body, at, 2, f"batch[{i}]")
        n = int.from_bytes(body[at:at + 2], "big")
        _need(body, at + 2, n, f"batch[{i}]")
        items.append(body[at + 2:at + 2 + n])
        at += 2 + n
    if at != len(body):
        raise DecodeError("batch", f"{len(body) - at} bytes after the last item")
    return kind, items


def general_response(serial: int, msg_id: int, result: int) -> bytes:
    """0x8001 body: the answered serial, the answered message id, the result."""
    return struct.pack(">HHB", serial & 0xFFFF, msg_id & 0xFFFF, result)


def registration_response(serial: int, result: int, code: str | None = None) -> bytes:
    """0x8100 body: the answered serial, the result, and the auth code on success only."""
    return struct.pack(">HB", serial & 0xFFFF, result) + (code.encode("ascii") if result == REG_OK and code else b"")
