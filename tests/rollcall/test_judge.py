"""Judging roll-call frames against enrolled templates, on the real test photographs (tests/data/faces)."""
from __future__ import annotations

import pytest

from rollcall.gestures import GESTURES, gesture
from rollcall.judge import better, judge_frames
from tests.video.faces import no_face, photo, two_faces
from video.face import analyse
from video.photos import sanitize_photo


@pytest.fixture(scope="module")
def references():
    return [analyse(sanitize_photo(photo(name)).jpeg).descriptor for name in ("a-2", "a-3")]


def test_the_enrolled_person_matches_and_another_does_not(references):
    same = judge_frames([photo("a-1")], references)
    assert same.outcome == "match" and 0.3 < same.distance < 0.5 and same.best_frame == 0
    other = judge_frames([photo("b-1")], references)
    assert other.outcome == "no_match" and other.distance > 0.6
    assert other.frames[0].faces == 1


def test_the_best_frame_of_a_burst_counts(references):
    burst = judge_frames([no_face(), photo("b-1"), photo("a-1"), photo("b-1")], references)
    assert burst.outcome == "match" and burst.best_frame == 2
    # judged in order until the match: the frame after it is not described at all
    assert [f.outcome for f in burst.frames] == ["no_face", "no_match", "match"]
    assert burst.evidence()["frames"][0] == {"faces": 0, "distance": None, "outcome": "no_face"}


def test_a_passer_by_beside_the_person_does_not_hide_the_match(references):
    both = judge_frames([two_faces()], references)
    assert both.outcome == "match" and both.frames[0].faces == 2


def test_no_face_and_a_failed_camera(references):
    assert judge_frames([no_face()], references).outcome == "no_face"
    failed = judge_frames([], references, error="timeout")
    assert (failed.outcome, failed.error, failed.best_frame) == ("camera_failed", "timeout", None)
    garbage = judge_frames([b"\xff\xd8 not really a jpeg"], references)
    assert garbage.outcome == "camera_failed" and garbage.error == "not_an_image"
    with pytest.raises(ValueError):
        judge_frames([photo("a-1")], [])


def test_the_best_attempt_of_a_window_is_kept():
    assert better(("no_face", None), ("no_match", 0.9)) == ("no_match", 0.9)
    assert better(("match", 0.45), ("match", 0.31)) == ("match", 0.31)
    assert better(("camera_failed", None), ("no_face", None)) == ("no_face", None)
    assert better(("inconclusive", 0.55), ("no_match", 0.7)) == ("inconclusive", 0.55)


def test_gestures_have_a_chinese_prompt_and_unknown_ones_are_refused():
    assert gesture("raise_left_hand").prompt == "请面向摄像头，举起左手"
    assert gesture(None).kind in GESTURES
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in g.prompt) for g in GESTURES.values())
    with pytest.raises(ValueError, match="unknown gesture"):
        gesture("moonwalk")


def test_between_the_thresholds_is_inconclusive_for_the_officer(references):
    from core.settings import FaceSettings

    band = FaceSettings(face_match_distance=0.3, face_no_match_distance=0.5)
    verdict = judge_frames([photo("a-1")], references, settings=band)
    assert verdict.outcome == "inconclusive" and 0.3 < verdict.distance <= 0.5
