"""Photo intake: accept only what is really an image, and keep none of its metadata.

Checks in order, cheapest first: size, type from the magic bytes, declared
dimensions (before decoding, so a decompression bomb never reaches the
decoder), then a real decode with OpenCV, which also applies the EXIF
orientation. The result is re-encoded as a fresh JPEG from the pixels alone:
EXIF (GPS position, device, time), XMP, ICC profiles and comments do not
survive, nor does anything appended after the image.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import Invalid
from core.settings import FaceSettings
from video.image_header import HeaderError, read_header

JPEG_QUALITY = 90


class PhotoRefused(Invalid):
    """A photo we will not take (422), with the reason in words the uploader can act on."""

    def __init__(self, reason: str, *, field: str | None = "photo") -> None:
        super().__init__(f"photo refused: {reason}", field=field)
        self.reason = reason


@dataclass(frozen=True)
class Photo:
    jpeg: bytes
    width: int
    height: int


def sanitize_photo(data: bytes, *, settings: FaceSettings | None = None) -> Photo:
    """Check, decode and re-encode an uploaded photo; raise PhotoRefused."""
    limits = settings or FaceSettings()
    if len(data) > limits.photo_max_bytes:
        raise PhotoRefused(f"larger than {limits.photo_max_bytes} bytes")
    if not data:
        raise PhotoRefused("empty")
    try:
        header = read_header(data)
    except HeaderError as exc:
        raise PhotoRefused(str(exc)) from None
    if header.width * header.height > limits.photo_max_pixels:
        raise PhotoRefused(f"{header.width}×{header.height} pixels is more than {limits.photo_max_pixels}")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise PhotoRefused(f"the {header.kind.upper()} data could not be decoded")
    height, width = image.shape[:2]
    if width * height > limits.photo_max_pixels:  # the header lied (or orientation swapped it: same product)
        raise PhotoRefused(f"{width}×{height} pixels is more than {limits.photo_max_pixels}")
    image = fit(image, limits.photo_store_max_side)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - encoding a decoded 8-bit BGR image does not fail
        raise RuntimeError("JPEG encoding failed")
    return Photo(jpeg=encoded.tobytes(), width=image.shape[1], height=image.shape[0])


def fit(image: np.ndarray, max_side: int) -> np.ndarray:
    """Scale down (never up) so the long side is at most ``max_side``."""
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
