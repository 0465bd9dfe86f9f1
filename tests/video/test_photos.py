"""Photo intake on real photographs: type from the bytes, bombs refused, metadata dropped."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from core.settings import FaceSettings
from video.image_header import read_header
from video.photos import PhotoRefused, sanitize_photo

FACES = Path(__file__).parent.parent / "data" / "faces"
GPS_IFD = 0x8825


def _with_gps_exif(path: Path) -> bytes:
    image = Image.open(path)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2026:12:01 08:00:00"  # DateTime
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (28.0, 57.0, 0.0), 3: "E", 4: (118.0, 57.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def _png(width: int, height: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _app1_segments(jpeg: bytes) -> list[bytes]:
    """Raw scan of the JPEG's marker segments before the scan data: APP1 payload prefixes."""
    found, pos = [], 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF and jpeg[pos + 1] != 0xDA:
        (length,) = struct.unpack(">H", jpeg[pos + 2:pos + 4])
        if jpeg[pos + 1] == 0xE1:
            found.append(jpeg[pos + 4:pos + 10])
        pos += 2 + length
    return found


def test_gps_exif_is_dropped():
    upload = _with_gps_exif(FACES / "person-a-1.jpg")
    exif = Image.open(io.BytesIO(upload)).getexif()
    assert exif.get_ifd(GPS_IFD)[1] == "N" and _app1_segments(upload) == [b"Exif\x00\x00"]  # the fixture is real
    photo = sanitize_photo(upload)
    stored = Image.open(io.BytesIO(photo.jpeg))
    assert stored.format == "JPEG" and (stored.width, stored.height) == (photo.width, photo.height)
    assert len(stored.getexif()) == 0 and stored.getexif().get_ifd(GPS_IFD) == {}
    assert _app1_segments(photo.jpeg) == []
    assert b"PhoneMaker" not in photo.jpeg and b"Exif" not in photo.jpeg


def test_png_and_webp_are_reencoded_as_jpeg():
    image = Image.open(FACES / "person-b-1.jpg")
    for fmt in ("PNG", "WEBP"):
        out = io.BytesIO()
        image.save(out, fmt)
        photo = sanitize_photo(out.getvalue())
        assert photo.jpeg[:3] == b"\xff\xd8\xff" and (photo.width, photo.height) == image.size


def test_non_image_named_jpg_is_refused(tmp_path):
    fake = tmp_path / "selfie.jpg"
    fake.write_bytes(b"#!/bin/sh\necho not a photo\n" * 50)
    with pytest.raises(PhotoRefused, match="not a JPEG, PNG or WebP") as refused:
        sanitize_photo(fake.read_bytes())
    assert refused.value.status == 422 and refused.value.field == "photo"


def test_truncated_or_corrupt_image_is_refused():
    data = (FACES / "person-a-2.jpg").read_bytes()
    with pytest.raises(PhotoRefused, match="no frame header"):
        sanitize_photo(data[:3] + b"\x00" * 50)
    # A sound header in front of data no decoder can read.
    with pytest.raises(PhotoRefused, match="could not be decoded"):
        sanitize_photo(_png(640, 480, b"not zlib data at all" * 20))


def test_oversize_upload_is_refused():
    data = (FACES / "person-a-1.jpg").read_bytes()
    with pytest.raises(PhotoRefused, match="larger than 4096 bytes"):
        sanitize_photo(data, settings=FaceSettings(photo_max_bytes=4096))


def test_decompression_bomb_is_refused_from_its_header():
    # A 60,000 × 60,000 PNG of zeros compresses to a few KB; it must never be decoded.
    row = b"\x00" + bytes(60_000)
    body = zlib.compress(row * 200, 9)  # only the first rows: the header is what is judged
    bomb = _png(60_000, 60_000, body)
    assert len(bomb) < 100_000 and read_header(bomb).width == 60_000
    with pytest.raises(PhotoRefused, match="60000×60000 pixels is more than"):
        sanitize_photo(bomb)
    # The same limit applies to JPEGs, read from their frame header.
    data = (FACES / "person-a-1.jpg").read_bytes()
    header = read_header(data)
    with pytest.raises(PhotoRefused, match="pixels is more than"):
        sanitize_photo(data, settings=FaceSettings(photo_max_pixels=header.width * header.height - 1))


def test_large_photo_is_scaled_down():
    image = Image.open(FACES / "person-a-1.jpg").resize((2400, 1800))
    out = io.BytesIO()
    image.save(out, "JPEG")
    photo = sanitize_photo(out.getvalue())
    assert max(photo.width, photo.height) == FaceSettings().photo_store_max_side
