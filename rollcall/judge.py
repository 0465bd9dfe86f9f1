"""What the frames of a roll-call showed: the faces in them matched against the enrolled templates.

Pure of the database: frames and reference descriptors in, a judgement out.
Faces are found and described by the check-ins verifier (video.face:
YuNet, dlib), and each face is judged by its ``verify`` with the same two
thresholds, so a roll-call and a check-in agree on what a match is. A camera
frame may show several people (passers-by): the nearest face counts, and the
number of faces is kept as evidence.

Outcomes, best first: ``match`` (a face within the match distance),
``inconclusive`` (between the thresholds: an officer decides), ``no_match``
(faces, none of them the person), ``no_face``, ``camera_failed`` (no frame).
Several attempts in a window keep the best one. Nothing here decides
anything about the person: the officer confirms or overturns.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.settings import FaceSettings
from video import face

OUTCOMES = ("match", "inconclusive", "no_match", "no_face", "camera_failed")
RANK = {outcome: len(OUTCOMES) - i for i, outcome in enumerate(OUTCOMES)}


@dataclass(frozen=True)
class FrameFinding:
    index: int  # position in the grab
    faces: int
    distance: float | None  # nearest face to the nearest reference; None without a face
    outcome: str  # match | inconclusive | no_match | no_face | camera_failed (undecodable)


@dataclass(frozen=True)
class Judgement:
    outcome: str
    distance: float | None
    frames: tuple[FrameFinding, ...]
    best_frame: int | None  # index of the frame that is the best evidence (None: no frame)
    error: str | None = None  # the grab's error when the camera failed

    def evidence(self) -> dict:
        """A JSON-able summary (the attempt's record): counts and distances, never pixels."""
        return {"outcome": self.outcome, "distance": _round(self.distance), "error": self.error,
                "best_frame": self.best_frame,
                "frames": [{"faces": f.faces, "distance": _round(f.distance), "outcome": f.outcome}
                           for f in self.frames]}


def judge_frame(index: int, jpeg: bytes, references: Sequence[np.ndarray], settings: FaceSettings) -> FrameFinding:
    """One frame: every face described, the nearest to the references judged."""
    try:
        found = face.analyse_all(jpeg, settings=settings)
    except ValueError:  # not decodable: the camera sent something that is not a picture
        return FrameFinding(index, 0, None, "camera_failed")
    if not found:
        return FrameFinding(index, 0, None, "no_face")
    verdicts = [face.verify(f.descriptor, list(references), settings=settings) for f in found]
    best = min(verdicts, key=lambda v: float("inf") if v.distance is None else v.distance)
    return FrameFinding(index, len(found), best.distance, best.outcome)


def judge_frames(frames: Sequence[bytes], references: Sequence[np.ndarray], *, error: str | None = None,
                 settings: FaceSettings | None = None) -> Judgement:
    """A grab's frames judged together, in order until one matches: the best frame's outcome is the grab's."""
    limits = settings or FaceSettings()
    if not references:
        raise ValueError("no enrolled templates to match against")
    if not frames:
        return Judgement("camera_failed", None, (), None, error or "no frame")
    findings: list[FrameFinding] = []
    for i, jpeg in enumerate(frames):
        findings.append(judge_frame(i, jpeg, references, limits))
        if findings[-1].outcome == "match":
            break  # describing a face costs ~0.1-1 s of a core: the frames after a match cannot beat it
    best = max(findings, key=_strength)
    return Judgement(best.outcome, best.distance, tuple(findings), best.index,
                     error="not_an_image" if best.outcome == "camera_failed" else None)


def better(a: tuple[str, float | None], b: tuple[str, float | None]) -> tuple[str, float | None]:
    """The stronger of two (outcome, distance): the higher outcome, then the smaller distance."""
    return max(a, b, key=lambda pair: (RANK[pair[0]], -(pair[1] if pair[1] is not None else float("inf"))))


def _strength(f: FrameFinding) -> tuple[int, float, int]:
    return (RANK[f.outcome], -(f.distance if f.distance is not None else float("inf")), f.faces)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
