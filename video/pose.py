"""Head pose from YuNet's five landmarks: plain geometry, no model.

The face is taken as rigid with the nose tip standing out of the plane of
the eyes and mouth. Turning the head (yaw) moves the nose tip sideways
relative to the midpoint of the eyes by ``depth × sin(yaw)`` while the eyes
close up by ``cos(yaw)``; nodding (pitch) moves it up or down between the
eye line and the mouth line. Roll is removed first (the eye line is made
horizontal), so a tilted phone is not read as a turn.

Signs, for an unmirrored photo (the camera looking at the person): yaw > 0
when the person turns to *their* left (the nose moves to the image's right);
pitch > 0 when they look up.
"""
from __future__ import annotations

import math

import numpy as np

# Nose-tip depth in front of the eyes, as a fraction of the distance between
# the eyes (~63 mm apart, tip ~38 mm in front of them for an adult).
NOSE_DEPTH_PER_EYE_DISTANCE = 0.6
# Nose-tip depth in front of the eye–mouth plane, per eye-to-mouth height (~25 of ~70 mm).
NOSE_DEPTH_PER_FACE_HEIGHT = 0.4
# Where the nose tip sits between the eye line (0) and the mouth line (1) when
# the face is level with the camera (0.50–0.56 in the test photographs).
LEVEL_NOSE_POSITION = 0.53


def head_pose(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from 5×2 landmarks: eyes (image-left first), nose, mouth corners."""
    eye_a, eye_b, nose, mouth_a, mouth_b = (np.asarray(p, dtype=float) for p in landmarks)
    if eye_a[0] > eye_b[0]:  # order the eyes by image x, whatever the detector's order
        eye_a, eye_b = eye_b, eye_a
    roll = math.atan2(eye_b[1] - eye_a[1], eye_b[0] - eye_a[0])
    cos_r, sin_r = math.cos(-roll), math.sin(-roll)
    centre = (eye_a + eye_b) / 2

    def level(p: np.ndarray) -> np.ndarray:
        d = p - centre
        return np.array([d[0] * cos_r - d[1] * sin_r, d[0] * sin_r + d[1] * cos_r])

    eye_distance = float(np.linalg.norm(eye_b - eye_a))
    n = level(nose)
    mouth_y = (level(mouth_a)[1] + level(mouth_b)[1]) / 2
    if eye_distance <= 0 or mouth_y <= 0:
        return 0.0, 0.0, math.degrees(roll)
    yaw = math.degrees(math.atan2(n[0] / eye_distance, NOSE_DEPTH_PER_EYE_DISTANCE))
    position = n[1] / mouth_y
    pitch = math.degrees(math.atan2(LEVEL_NOSE_POSITION - position, NOSE_DEPTH_PER_FACE_HEIGHT))
    return yaw, pitch, math.degrees(roll)
