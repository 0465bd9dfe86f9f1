"""Face detection, verification and liveness on real photographs (tests/data/faces/README.md)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.settings import FaceSettings
from video import face_models
from video.face import (CHALLENGES, FaceAnalysis, analyse, descriptors_bytes, descriptors_from_bytes, distance,
                        liveness, verify)
from video.photos import sanitize_photo
from tests.video.faces import encode, decode, mirrored, no_face, photo, tilted_print, turned, two_faces


@pytest.fixture(scope="module")
def faces() -> dict[str, FaceAnalysis]:
    return {name: analyse(sanitize_photo(photo(name)).jpeg) for name in ("a-1", "a-2", "a-3", "b-1")}


def _turned_a1(faces, degrees: float) -> FaceAnalysis:
    a1 = faces["a-1"]
    eye_distance = float(np.linalg.norm(np.subtract(a1.landmarks[1], a1.landmarks[0])))
    return analyse(turned(photo("a-1"), a1.box, a1.landmarks[2], eye_distance, degrees))


def test_one_face_in_each_test_photograph(faces):
    for name, found in faces.items():
        assert found.faces == 1 and found.descriptor.shape == (128,), name
        assert len(found.landmarks) == 5 and found.score >= 0.9
    assert abs(faces["a-1"].yaw_deg) < 5  # the frontal one


def test_same_person_matches(faces):
    refs = [faces["a-2"].descriptor, faces["a-3"].descriptor]
    verdict = verify(faces["a-1"].descriptor, refs)
    assert verdict.outcome == "match" and 0.3 < verdict.distance < 0.45


def test_different_person_does_not_match(faces):
    refs = [faces[n].descriptor for n in ("a-1", "a-2", "a-3")]
    verdict = verify(faces["b-1"].descriptor, refs)
    assert verdict.outcome == "no_match" and verdict.distance > 0.8


def test_between_the_thresholds_is_inconclusive(faces):
    band = FaceSettings(face_match_distance=0.3, face_no_match_distance=0.5)
    verdict = verify(faces["a-1"].descriptor, [faces["a-2"].descriptor], settings=band)
    assert verdict.outcome == "inconclusive" and 0.3 < verdict.distance <= 0.5
    assert verify(None, [faces["a-2"].descriptor]) == verify(faces["a-1"].descriptor, []) \
        == type(verdict)("inconclusive", None)


def test_no_face_and_two_faces_need_review():
    none, two = analyse(no_face()), analyse(two_faces())
    assert (none.faces, two.faces) == (0, 2)
    assert none.descriptor is None and two.descriptor is None and not none.single and not two.single
    assert verify(two.descriptor, [np.zeros(128)]).outcome == "inconclusive"


def test_same_photo_twice_fails_liveness(faces):
    a1 = faces["a-1"]
    for kind in CHALLENGES:
        verdict = liveness(a1, a1, kind)
        assert not verdict.passed and verdict.reason == "the same photo was submitted twice"
    # Re-encoded at another quality (a replay through another app) is still the same photo.
    again = analyse(encode(decode(photo("a-1")), quality=60))
    assert not liveness(a1, again, "turn_left").passed


def test_photos_own_variation_head_turned_passes(faces):
    # person-a-2 shows A with the head turned to his right (yaw ≈ −18°) against frontal a-1.
    verdict = liveness(faces["a-1"], faces["a-2"], "turn_right")
    assert verdict.passed, verdict.reason
    assert faces["a-2"].yaw_deg < -15


def test_depth_warped_copy_with_head_turned_passes(faces):
    challenge = _turned_a1(faces, 20)  # see tests/video/faces.py: turned()
    assert challenge.yaw_deg > 15 and challenge.yaw_deg - faces["a-1"].yaw_deg > 15
    assert verify(challenge.descriptor, [faces["a-1"].descriptor]).outcome == "match"
    verdict = liveness(faces["a-1"], challenge, "turn_left")
    assert verdict.passed, verdict.reason


def test_tilted_print_fails(faces):
    # A flat print turned in front of the camera: no depth, so the nose stays between the eyes.
    for degrees in (20, 35, 50):
        challenge = analyse(tilted_print(photo("a-1"), degrees))
        assert challenge.faces == 1
        verdict = liveness(faces["a-1"], challenge, "turn_left")
        assert not verdict.passed and "not performed" in verdict.reason, degrees


def test_turn_direction_and_mirrored_selfies(faces):
    strict = FaceSettings(liveness_turn_direction_strict=True)
    assert not liveness(faces["a-1"], faces["a-2"], "turn_left", settings=strict).passed
    assert liveness(faces["a-1"], faces["a-2"], "turn_right", settings=strict).passed
    flipped = analyse(mirrored(photo("a-2")))
    assert flipped.yaw_deg > 15  # the mirror image turns the other way
    assert liveness(faces["a-1"], flipped, "turn_left", settings=strict).passed
    assert liveness(faces["a-1"], flipped, "turn_right").passed  # default: either direction


def test_challenge_not_performed_or_other_person_fails(faces):
    verdict = liveness(faces["a-1"], faces["a-3"], "look_up")
    assert not verdict.passed and "not performed" in verdict.reason
    verdict = liveness(faces["a-1"], faces["b-1"], "turn_left")
    assert not verdict.passed and verdict.reason == "the two photos show different people"
    # The neutral photo must face the camera (a-2 is turned by ≈18°).
    verdict = liveness(faces["a-2"], faces["a-1"], "turn_left", settings=FaceSettings(liveness_neutral_max_deg=10))
    assert not verdict.passed and "neutral" in verdict.reason
    assert not liveness(faces["a-1"], analyse(two_faces()), "turn_left").passed
    with pytest.raises(ValueError):
        liveness(faces["a-1"], faces["a-2"], "blink")


def test_challenges_have_chinese_prompts():
    assert set(CHALLENGES) == {"turn_left", "turn_right", "look_up", "look_down"}
    assert all(c.prompt.startswith("请") for c in CHALLENGES.values())


def test_model_hash_is_checked(tmp_path):
    face_models.verify_file(face_models.YUNET_PATH, face_models.YUNET_SHA256)
    copy = tmp_path / "yunet.onnx"
    shutil.copy(face_models.YUNET_PATH, copy)
    with copy.open("r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    with pytest.raises(face_models.ModelIntegrityError, match="is not the expected"):
        face_models.verify_file(copy, face_models.YUNET_SHA256)


def test_descriptors_survive_a_sealed_template(faces, settings):
    from core import media

    refs = [faces["a-1"].descriptor, faces["a-3"].descriptor]
    blob = media.seal(descriptors_bytes(refs), aad=b"face-template:1", settings=settings)
    back = descriptors_from_bytes(media.unseal(blob, aad=b"face-template:1", settings=settings))
    assert len(back) == 2 and all(distance(x, y) < 1e-5 for x, y in zip(back, refs))  # float32 loses nothing
    assert verify(faces["a-2"].descriptor, back).outcome == "match"
    with pytest.raises(ValueError):
        descriptors_from_bytes(b"\x00" * 100)
