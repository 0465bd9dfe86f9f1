"""JT/T 808 frames for tests, laid out byte by byte from the standard (not with our codec).

Header 2013: id WORD, properties WORD (bits 0–9 length, 14 = 2019 flag), phone BCD[6], serial WORD.
Header 2019: id, properties, protocol version BYTE, phone BCD[10], serial.
Frame: 7e + escape(header + body + XOR) + 7e, with 7e → 7d 02 and 7d → 7d 01.
"""
from __future__ import annotations

import struct
from datetime import datetime, timedelta, timezone

GMT8 = timezone(timedelta(hours=8))


def xor(data: bytes) -> int:
    x = 0
    for b in data:
        x ^= b
    return x


def escape(data: bytes) -> bytes:
    out = bytearray()
    for b in data:
        out += b"\x7d\x02" if b == 0x7E else b"\x7d\x01" if b == 0x7D else bytes([b])
    return bytes(out)


def header(msg_id: int, body_len: int, phone: str, serial: int, *, v2019: bool = False) -> bytes:
    if v2019:
        return struct.pack(">HHB", msg_id, body_len | 0x4000, 1) + bytes.fromhex(phone.rjust(20, "0")) \
            + struct.pack(">H", serial)
    return struct.pack(">HH", msg_id, body_len) + bytes.fromhex(phone.rjust(12, "0")) + struct.pack(">H", serial)


def frame(msg_id: int, body: bytes, phone: str, serial: int, *, v2019: bool = False, bad_checksum: bool = False) -> bytes:
    data = header(msg_id, len(body), phone, serial, v2019=v2019) + body
    check = xor(data) ^ (0xFF if bad_checksum else 0)
    return b"\x7e" + escape(data + bytes([check])) + b"\x7e"


def bcd_time(t: datetime) -> bytes:
    return bytes.fromhex(t.astimezone(GMT8).strftime("%y%m%d%H%M%S"))


def registration(*, v2019: bool = False, terminal_id: str = "T000001") -> bytes:
    sizes = (11, 30, 30) if v2019 else (5, 20, 7)
    fields = [b"ZJ", b"WB-1", terminal_id.encode()]
    return struct.pack(">HH", 33, 803) + b"".join(f.ljust(n, b"\x00") for f, n in zip(fields, sizes)) + b"\x00"


def authentication(code: str, *, v2019: bool = False) -> bytes:
    if v2019:
        return bytes([len(code)]) + code.encode() + b"860000000000001" + b"1.0".ljust(20, b"\x00")
    return code.encode()


def location(t: datetime, lat: float, lon: float, *, alarm: int = 0, status: int = 0x2, speed_kmh: float = 0.0,
             course: int = 0, altitude: int = 0, extras: bytes = b"") -> bytes:
    if lat < 0:
        status |= 0x4
    if lon < 0:
        status |= 0x8
    return struct.pack(">IIIIhHH", alarm, status, round(abs(lat) * 1e6), round(abs(lon) * 1e6), altitude,
                       round(speed_kmh * 10), course) + bcd_time(t) + extras


def batch(items: list[bytes], kind: int = 1) -> bytes:
    return struct.pack(">HB", len(items), kind) + b"".join(struct.pack(">H", len(i)) + i for i in items)


def split_frames(data: bytes) -> list[bytes]:
    """The unescaped content (header + body, checksum checked) of each frame in ``data``."""
    out = []
    for part in data.split(b"\x7e"):
        if not part:
            continue
        raw = part.replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")
        assert xor(raw[:-1]) == raw[-1], "platform frame with a bad checksum"
        out.append(raw[:-1])
    return out


def parse_answer(content: bytes) -> tuple[int, int, bytes]:
    """(message id, header length, body) of a 2013 or 2019 platform frame."""
    msg_id, props = struct.unpack_from(">HH", content)
    start = 17 if props & 0x4000 else 12
    body = content[start:]
    assert len(body) == props & 0x3FF
    return msg_id, start, body
