"""Loading the face models once per thread: YuNet (shipped, hash-checked) and dlib's.

OpenCV's detector and dlib's predictors keep per-call state, so each thread
gets its own instances instead of sharing one behind a lock.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import dlib
import face_recognition_models

YUNET_PATH = Path(__file__).parent / "models" / "face_detection_yunet_2026may.onnx"
YUNET_SHA256 = "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0"


class ModelIntegrityError(RuntimeError):
    """A model file is not the one this code was tested with."""


@dataclass
class FaceModels:
    detector: cv2.FaceDetectorYN
    shape_predictor: dlib.shape_predictor
    encoder: dlib.face_recognition_model_v1
    score_threshold: float


_local = threading.local()
_verified: set[Path] = set()
_verify_lock = threading.Lock()


def verify_file(path: Path, sha256: str) -> None:
    """Refuse a model whose bytes differ from the recorded hash (checked once per process)."""
    with _verify_lock:
        if path in _verified:
            return
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != sha256:
            raise ModelIntegrityError(f"{path.name}: SHA-256 {digest} is not the expected {sha256}")
        _verified.add(path)


def models(score_threshold: float) -> FaceModels:
    """This thread's models (created on first use)."""
    current: FaceModels | None = getattr(_local, "models", None)
    if current is None:
        verify_file(YUNET_PATH, YUNET_SHA256)
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # the DNN engine's notices
        current = FaceModels(
            detector=cv2.FaceDetectorYN.create(str(YUNET_PATH), "", (320, 320), score_threshold),
            shape_predictor=dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location()),
            encoder=dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location()),
            score_threshold=score_threshold,
        )
        _local.models = current
    if current.score_threshold != score_threshold:
        current.detector.setScoreThreshold(score_threshold)
        current.score_threshold = score_threshold
    return current
