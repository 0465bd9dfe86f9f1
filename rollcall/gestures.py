"""The prescribed gestures (规定动作) of a remote roll-call, with the prompt the supervisee sees (zh-CN).

A gesture is what makes a roll-call more than a face match: a photo held up
to the camera, or an accomplice on a video call, cannot raise the left hand
on request within minutes at a camera chosen by the officer. The system does
not judge the gesture (no pose model for hands): the frames are the evidence
and the officer confirms it.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Gesture:
    kind: str
    prompt: str  # zh-CN, shown to the supervisee


GESTURES: dict[str, Gesture] = {g.kind: g for g in (
    Gesture("raise_left_hand", "请面向摄像头，举起左手"),
    Gesture("raise_right_hand", "请面向摄像头，举起右手"),
    Gesture("raise_both_hands", "请面向摄像头，举起双手"),
    Gesture("turn_head_left", "请面向摄像头，然后向左转头"),
    Gesture("turn_head_right", "请面向摄像头，然后向右转头"),
    Gesture("hand_on_head", "请面向摄像头，把一只手放在头顶"),
    Gesture("wave", "请面向摄像头挥手"),
)}


def gesture(kind: str | None) -> Gesture:
    """The named gesture, or one chosen at random (unpredictable, so it cannot be rehearsed)."""
    if kind is None:
        return GESTURES[secrets.choice(sorted(GESTURES))]
    try:
        return GESTURES[kind]
    except KeyError:
        raise ValueError(f"unknown gesture {kind!r}; one of {', '.join(sorted(GESTURES))}") from None
