"""What an image file says it is, read from its bytes before anything decodes it.

The type comes from the magic number (never the file name or a Content-Type
header), and the dimensions from the header, so a decompression bomb (a small
file declaring 50,000 × 50,000 pixels) is refused before a decoder allocates
for it.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class ImageHeader:
    kind: str  # "jpeg" | "png" | "webp"
    width: int
    height: int


class HeaderError(ValueError):
    """Not an image of a supported type, or its header is unreadable."""


def detect_kind(data: bytes) -> str | None:
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def read_header(data: bytes) -> ImageHeader:
    kind = detect_kind(data)
    if kind is None:
        raise HeaderError("not a JPEG, PNG or WebP image")
    try:
        width, height = {"jpeg": _jpeg_size, "png": _png_size, "webp": _webp_size}[kind](data)
    except (struct.error, IndexError):
        raise HeaderError(f"the {kind.upper()} header is truncated") from None
    if width <= 0 or height <= 0:
        raise HeaderError(f"the {kind.upper()} header declares no pixels")
    return ImageHeader(kind, width, height)


# Start-of-frame markers (baseline, progressive, lossless, arithmetic…); not DHT/JPG/DAC.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise HeaderError("the JPEG header is malformed")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length field
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return width, height
        if marker in (0xD9, 0xDA) or length < 2:  # end of image / scan before any frame
            break
        pos += 2 + length
    raise HeaderError("the JPEG has no frame header")


def _png_size(data: bytes) -> tuple[int, int]:
    if data[12:16] != b"IHDR":
        raise HeaderError("the PNG does not start with its IHDR chunk")
    return struct.unpack(">II", data[16:24])


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise HeaderError("the WebP (VP8) frame header is malformed")
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            raise HeaderError("the WebP (VP8L) header is malformed")
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    raise HeaderError("the WebP has no image chunk")
