"""Test photographs and the ones derived from them at run time (how each is made is said here)."""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

FACES = Path(__file__).parent.parent / "data" / "faces"


def photo(name: str) -> bytes:
    return (FACES / f"person-{name}.jpg").read_bytes()


def decode(jpeg: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)


def encode(image: np.ndarray, quality: int = 92) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def two_faces() -> bytes:
    """Person A and person B side by side: both photographs scaled to one height and concatenated."""
    a, b = decode(photo("a-1")), decode(photo("b-1"))
    height = min(a.shape[0], b.shape[0])
    scaled = [cv2.resize(img, (round(img.shape[1] * height / img.shape[0]), height)) for img in (a, b)]
    return encode(cv2.hconcat(scaled))


def no_face() -> bytes:
    """A real photograph with no face in it: the bottom 45 % of person-a-1 (jacket and tie)."""
    image = decode(photo("a-1"))
    return encode(image[int(image.shape[0] * 0.55):])


def mirrored(jpeg: bytes) -> bytes:
    """What a phone that saves front-camera selfies mirrored would send."""
    return encode(cv2.flip(decode(jpeg), 1))


def turned(jpeg: bytes, box: tuple[float, float, float, float], nose: tuple[float, float],
           eye_distance: float, degrees: float) -> bytes:
    """A copy of a frontal photo with the head turned by a depth warp (a crude 3-D rotation).

    The head is modelled as a vertical cylinder as wide as the face box, with
    the nose standing out of it (a Gaussian bump at the nose tip, 0.6 × the eye
    distance high, about as deep as a real nose). Rotating that surface by
    ``degrees`` about the cylinder's axis under an orthographic camera moves each
    point sideways by ``(x − x0)(cos θ − 1) + z sin θ``: the middle of the face
    slides toward the turn, the far side compresses and the nose moves off the
    eyes' midpoint, the landmark geometry a real head turn shows. (A flat print
    turned in front of the camera has no depth: see ``tilted_print``.)
    Positive ``degrees``: toward the person's left.
    """
    image = decode(jpeg)
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    x0, radius = box[0] + box[2] / 2, box[2] / 2
    sigma = 0.25 * eye_distance
    theta = math.radians(degrees)
    # Output pixel x' shows the source point x solving x' = x0 + (x − x0)cos θ + z(x)sin θ;
    # fixed-point steps converge because z is smooth.
    src_x = xs.copy()
    for _ in range(8):
        across = np.clip((src_x - x0) / radius, -1, 1)
        depth = radius * np.sqrt(1 - across ** 2) + 0.6 * eye_distance * np.exp(
            -((src_x - nose[0]) ** 2 + (ys - nose[1]) ** 2) / (2 * sigma ** 2))
        src_x = x0 + (xs - x0 - depth * math.sin(theta)) / math.cos(theta)
    return encode(cv2.remap(image, src_x.astype(np.float32), ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))


def tilted_print(jpeg: bytes, degrees: float) -> bytes:
    """The photo as a flat print turned by ``degrees`` about its vertical axis in front of a
    pinhole camera (focal length = image width): a true perspective homography."""
    image = decode(jpeg)
    height, width = image.shape[:2]
    f, theta = float(width), math.radians(degrees)
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    centred = corners - [width / 2, height / 2]
    # Rotate the plane's points about the vertical axis, then project at distance f.
    x, z = centred[:, 0] * math.cos(theta), f + centred[:, 0] * math.sin(theta)
    projected = np.float32(np.stack([f * x / z + width / 2, f * centred[:, 1] / z + height / 2], axis=1))
    matrix = cv2.getPerspectiveTransform(corners, projected)
    return encode(cv2.warpPerspective(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE))
