"""Face checks for check-ins: find the face, describe it, compare it, and judge liveness.

- ``analyse``: YuNet finds faces; with exactly one, dlib's 5-point shape
  predictor (run inside YuNet's box) aligns it and dlib's ResNet gives a
  128-d descriptor; head pose comes from YuNet's five landmarks (video/pose.py).
  Anything but one face leaves the descriptor empty: the caller marks the
  check-in "needs review".
- ``verify``: the smallest distance to the enrolled descriptors, judged with
  two thresholds; between them is "inconclusive" (an officer decides).
- ``liveness``: the challenge photo must show the pose the server asked for,
  differ from the neutral photo by a clear margin, and show the same person.
  Nothing here sanctions anyone: every result is evidence for an officer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import dlib
import numpy as np

from core.settings import FaceSettings
from video.face_models import models
from video.photos import fit
from video.pose import head_pose

DETECT_MAX_SIDE = 640  # YuNet's working size (the measured 13 ms per frame)


@dataclass(frozen=True)
class FaceAnalysis:
    faces: int
    box: tuple[float, float, float, float] | None  # x, y, w, h in the analysed photo's pixels
    landmarks: tuple[tuple[float, float], ...] | None  # eyes, nose tip, mouth corners
    yaw_deg: float | None
    pitch_deg: float | None
    descriptor: np.ndarray | None  # 128 floats; None unless exactly one face
    score: float | None = None  # YuNet confidence of the face

    @property
    def single(self) -> bool:
        return self.faces == 1 and self.descriptor is not None


@dataclass(frozen=True)
class Verdict:
    outcome: Literal["match", "no_match", "inconclusive"]
    distance: float | None  # to the nearest reference; kept as evidence


def analyse(jpeg: bytes, *, settings: FaceSettings | None = None) -> FaceAnalysis:
    """Detect, align, describe and estimate the pose of the face in one (sanitized) photo."""
    m, image, rows = _detect(jpeg, settings or FaceSettings())
    if len(rows) != 1:
        return FaceAnalysis(faces=len(rows), box=None, landmarks=None, yaw_deg=None, pitch_deg=None, descriptor=None)
    return _describe(m, image, rows[0], faces=1)


def analyse_all(jpeg: bytes, *, settings: FaceSettings | None = None) -> list[FaceAnalysis]:
    """Every face in a frame, each described (a camera frame may show passers-by beside the person)."""
    m, image, rows = _detect(jpeg, settings or FaceSettings())
    return [_describe(m, image, row, faces=len(rows)) for row in rows]


def _detect(jpeg: bytes, limits: FaceSettings):
    image = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not a decodable image (sanitize photos first: video.photos)")
    image = fit(image, DETECT_MAX_SIDE)
    m = models(limits.face_min_score)
    height, width = image.shape[:2]
    m.detector.setInputSize((width, height))
    _, found = m.detector.detect(image)
    return m, image, [] if found is None else [row for row in found if row[14] >= limits.face_min_score]


def _describe(m, image: np.ndarray, row: np.ndarray, *, faces: int) -> FaceAnalysis:
    box = tuple(float(v) for v in row[:4])
    points = row[4:14].reshape(5, 2).astype(float)
    yaw, pitch, _roll = head_pose(points)
    return FaceAnalysis(faces=faces, box=box, landmarks=tuple((float(x), float(y)) for x, y in points),
                        yaw_deg=yaw, pitch_deg=pitch, descriptor=_descriptor(m, image, box), score=float(row[14]))


def _descriptor(m, image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    x, y, w, h = box
    rect = dlib.rectangle(int(round(x)), int(round(y)), int(round(x + w)), int(round(y + h)))
    rgb = np.ascontiguousarray(image[:, :, ::-1])  # dlib wants RGB
    shape = m.shape_predictor(rgb, rect)
    # compute_face_descriptor aligns the 5 points to dlib's 150×150 chip itself.
    return np.asarray(m.encoder.compute_face_descriptor(rgb, shape), dtype=np.float64)


def descriptor_bytes(descriptor: np.ndarray) -> bytes:
    """The descriptor as 128 little-endian float32 (512 bytes), e.g. to seal as a template."""
    return np.asarray(descriptor, dtype="<f4").tobytes()


def descriptor_from_bytes(data: bytes) -> np.ndarray:
    if len(data) != 128 * 4:
        raise ValueError("a face descriptor is 512 bytes")
    return np.frombuffer(data, dtype="<f4").astype(np.float64)


def descriptors_bytes(descriptors: list[np.ndarray]) -> bytes:
    """Several descriptors (an enrolment's references) as one blob of 512-byte records."""
    return b"".join(descriptor_bytes(d) for d in descriptors)


def descriptors_from_bytes(data: bytes) -> list[np.ndarray]:
    if len(data) % 512:
        raise ValueError("face descriptors are 512 bytes each")
    return [descriptor_from_bytes(data[i:i + 512]) for i in range(0, len(data), 512)]


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))


def verify(descriptor: np.ndarray | None, references: list[np.ndarray], *,
           settings: FaceSettings | None = None) -> Verdict:
    """Match / no match / inconclusive against the enrolled descriptors (nearest one counts)."""
    limits = settings or FaceSettings()
    if descriptor is None or not references:
        return Verdict("inconclusive", None)
    nearest = min(distance(descriptor, ref) for ref in references)
    if nearest <= limits.face_match_distance:
        return Verdict("match", nearest)
    if nearest > limits.face_no_match_distance:
        return Verdict("no_match", nearest)
    return Verdict("inconclusive", nearest)


# --- liveness by challenge --------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    kind: str
    prompt: str  # zh-CN, shown to the supervisee
    axis: Literal["yaw", "pitch"]
    sign: int  # +1: yaw to the person's left / looking up


CHALLENGES: dict[str, Challenge] = {c.kind: c for c in (
    Challenge("turn_left", "请向左转头", "yaw", +1),
    Challenge("turn_right", "请向右转头", "yaw", -1),
    Challenge("look_up", "请抬头", "pitch", +1),
    Challenge("look_down", "请低头", "pitch", -1),
)}


@dataclass(frozen=True)
class LivenessVerdict:
    passed: bool
    reason: str


def liveness(neutral: FaceAnalysis, challenge: FaceAnalysis, challenge_kind: str, *,
             settings: FaceSettings | None = None) -> LivenessVerdict:
    """Did the person perform the challenge between the two photos?"""
    limits = settings or FaceSettings()
    wanted = CHALLENGES.get(challenge_kind)
    if wanted is None:
        raise ValueError(f"unknown challenge {challenge_kind!r}")
    if not (neutral.single and challenge.single):
        return LivenessVerdict(False, "each photo must show exactly one face")
    if _same_photo(neutral, challenge):
        return LivenessVerdict(False, "the same photo was submitted twice")
    if distance(neutral.descriptor, challenge.descriptor) > limits.face_no_match_distance:
        return LivenessVerdict(False, "the two photos show different people")
    if max(abs(neutral.yaw_deg), abs(neutral.pitch_deg)) > limits.liveness_neutral_max_deg:
        return LivenessVerdict(False, "the neutral photo does not face the camera")
    before, after = _pose(neutral, wanted.axis), _pose(challenge, wanted.axis)
    sign = wanted.sign
    if wanted.axis == "yaw" and not limits.liveness_turn_direction_strict:
        # Front cameras save selfies mirrored or not depending on the phone and a
        # user setting, which flips left and right: accept a turn either way.
        sign = 1 if after - before >= 0 else -1
    if sign * after < limits.liveness_turn_deg:
        return LivenessVerdict(False, f"the challenge pose was not performed ({wanted.axis} {after:+.0f}°)")
    if sign * (after - before) < limits.liveness_change_deg:
        return LivenessVerdict(False, f"the pose hardly changed between the photos ({after - before:+.0f}°)")
    return LivenessVerdict(True, f"{wanted.kind}: {wanted.axis} {before:+.0f}° → {after:+.0f}°")


def _pose(face: FaceAnalysis, axis: str) -> float:
    return float(face.yaw_deg if axis == "yaw" else face.pitch_deg)


def _same_photo(a: FaceAnalysis, b: FaceAnalysis) -> bool:
    """One photo twice (or a re-encoded copy): near-identical descriptor and landmark layout."""
    if distance(a.descriptor, b.descriptor) > 0.05:
        return False
    pa, pb = np.asarray(a.landmarks), np.asarray(b.landmarks)
    scale = max(a.box[2], a.box[3], 1.0)
    # Compare shapes, not positions: centre each set and scale by the face size.
    spread = np.abs((pa - pa.mean(axis=0)) / scale - (pb - pb.mean(axis=0)) / max(b.box[2], b.box[3], 1.0))
    return float(spread.max()) < 0.02
