"""JT/T 808 framing and header, pure (no I/O).

A frame on the wire is ``0x7e | escaped(header | body | checksum) | 0x7e``:

* escapes: 0x7e → 0x7d 0x02 and 0x7d → 0x7d 0x01 (anything else after 0x7d is an error);
* checksum: XOR of every unescaped byte of header and body;
* header (2013): message id WORD, properties WORD, terminal phone BCD[6], serial WORD;
  (2019, properties bit 14 set): message id, properties, protocol version BYTE,
  terminal phone BCD[10], serial; then, if properties bit 13 (subpackage) is set,
  package count WORD and package index WORD (both editions);
* properties: bits 0–9 body length, 10–12 encryption (bit 10 = RSA), 13 subpackage,
  14 version flag (2019).

Every error is a ``FrameError`` (a ``DecodeError``) carrying the header when it
could be read, because the standard answers a corrupt frame whose header is
readable with 0x8001 result 2 ("message error"), and drops the rest.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from geo.ingest.errors import DecodeError

FLAG = 0x7E
ESCAPE = 0x7D
_ESCAPED = {0x02: FLAG, 0x01: ESCAPE}
MAX_BODY = 0x3FF  # the 10-bit length field
VERSION_2013 = 2013
VERSION_2019 = 2019


@dataclass(frozen=True, slots=True)
class Header:
    msg_id: int
    version: int  # 2013 (also 2011) or 2019
    phone: str  # the BCD digits as sent (12 in 2013, 20 in 2019)
    serial: int
    body_length: int
    encryption: int = 0
    protocol_version: int | None = None  # 2019 only
    package: tuple[int, int] | None = None  # (count, index) when subpackaged

    @property
    def terminal(self) -> str:
        """The phone number without the BCD padding zeros: one identifier for both editions."""
        return self.phone.lstrip("0") or "0"


@dataclass(frozen=True, slots=True)
class Frame:
    header: Header
    body: bytes


class FrameError(DecodeError):
    """A frame that cannot be used; ``header`` is set when the header could still be read."""

    def __init__(self, field: str, message: str, header: Header | None = None) -> None:
        super().__init__(field, message)
        self.header = header


def checksum(data: bytes) -> int:
    """XOR of every byte."""
    return reduce(lambda a, b: a ^ b, data, 0)


def escape(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


class _BadEscape(Exception):
    def __init__(self, prefix: bytes) -> None:
        self.prefix = prefix


def _unescape(data: bytes) -> bytes:
    if b"\x7e" in data:
        raise _BadEscape(data[:data.index(b"\x7e")])
    if b"\x7d" not in data:
        return data
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b == ESCAPE:
            nxt = _ESCAPED.get(data[i + 1]) if i + 1 < len(data) else None
            if nxt is None:
                raise _BadEscape(bytes(out))
            out.append(nxt)
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def unescape(data: bytes) -> bytes:
    """The frame content without its escapes; a lone 0x7d or 0x7d + other byte is a FrameError."""
    try:
        return _unescape(data)
    except _BadEscape as exc:
        raise FrameError("frame", "bad escape sequence", _try_header(exc.prefix)) from None


def bcd_digits(data: bytes) -> str:
    """Packed BCD to its digits; a nibble above 9 is not BCD."""
    digits = data.hex()
    if not digits.isdigit():
        raise DecodeError("bcd", f"not BCD: {digits[:24]}")
    return digits


def to_bcd(digits: str, size: int) -> bytes:
    """Digits to packed BCD of ``size`` bytes, left-padded with zeros."""
    if not digits.isdigit() or len(digits) > size * 2:
        raise ValueError(f"{digits!r} does not fit BCD[{size}]")
    return bytes.fromhex(digits.rjust(size * 2, "0"))


def parse_header(data: bytes) -> tuple[Header, int]:
    """The header at the start of unescaped content, and the offset of the body."""
    if len(data) < 12:
        raise FrameError("header", f"too short ({len(data)} bytes)")
    msg_id = int.from_bytes(data[0:2], "big")
    props = int.from_bytes(data[2:4], "big")
    version = VERSION_2019 if props & 0x4000 else VERSION_2013
    if version == VERSION_2019:
        if len(data) < 17:
            raise FrameError("header", f"too short for a 2019 header ({len(data)} bytes)")
        protocol_version, phone_bytes, at = data[4], data[5:15], 15
    else:
        protocol_version, phone_bytes, at = None, data[4:10], 10
    try:
        phone = bcd_digits(phone_bytes)
    except DecodeError:
        raise FrameError("header.phone", "terminal phone number is not BCD") from None
    serial = int.from_bytes(data[at:at + 2], "big")
    at += 2
    package = None
    if props & 0x2000:
        if len(data) < at + 4:
            raise FrameError("header", "subpackage fields missing")
        package = (int.from_bytes(data[at:at + 2], "big"), int.from_bytes(data[at + 2:at + 4], "big"))
        at += 4
    return Header(msg_id=msg_id, version=version, phone=phone, serial=serial, body_length=props & MAX_BODY,
                  encryption=(props >> 10) & 0x7, protocol_version=protocol_version, package=package), at


def _try_header(data: bytes) -> Header | None:
    try:
        return parse_header(data)[0]
    except DecodeError:
        return None


def decode_frame(content: bytes) -> Frame:
    """One frame from the bytes between its two 0x7e flags (still escaped)."""
    if content[:1] == b"\x7e" and content[-1:] == b"\x7e" and len(content) >= 2:
        content = content[1:-1]  # tolerate being handed the flags too
    data = unescape(content)
    header, at = parse_header(data)
    if len(data) < at + 1:
        raise FrameError("frame", "no checksum byte", header)
    if checksum(data[:-1]) != data[-1]:
        raise FrameError("checksum", "checksum does not match", header)
    body = data[at:-1]
    if len(body) != header.body_length:
        raise FrameError("header.length", f"body is {len(body)} bytes, the header says {header.body_length}", header)
    return Frame(header, body)


def encode_frame(msg_id: int, body: bytes, *, phone: str, serial: int, version: int = VERSION_2013,
                 protocol_version: int = 1) -> bytes:
    """A complete frame (flags included) as the platform sends it, in the terminal's edition."""
    if len(body) > MAX_BODY:
        raise ValueError("body longer than 1023 bytes needs subpackaging")
    props = len(body)
    if version == VERSION_2019:
        props |= 0x4000
        head = msg_id.to_bytes(2, "big") + props.to_bytes(2, "big") + bytes([protocol_version]) + to_bcd(phone, 10)
    else:
        head = msg_id.to_bytes(2, "big") + props.to_bytes(2, "big") + to_bcd(phone[-12:], 6)
    data = head + (serial & 0xFFFF).to_bytes(2, "big") + body
    return b"\x7e" + escape(data + bytes([checksum(data)])) + b"\x7e"
