"""The photos of a check-in: sanitised, stored encrypted, verified against the enrolment, liveness.

Needs the media store (core.media) and face analysis (video.face) of issue 9
part A (branch ``face``). Until they are merged a face check-in is refused
with 503 saying so: never accepted unchecked, never silently passed.
"""
from __future__ import annotations

from dataclasses import dataclass

from checkins.models import CheckinOccurrence
from core.context import Ctx
from core.errors import ServiceError
from supervision.models import Supervisee


@dataclass(frozen=True)
class FaceResult:
    """What the photos showed (checkins.face_check)."""

    face: str  # match | no_match | inconclusive | no_face | not_enrolled
    distance: float | None
    liveness: str  # "passed" or the reason it failed
    neutral_media_id: int | None
    challenge_media_id: int | None

    @property
    def clean(self) -> bool:
        return self.face == "match" and self.liveness == "passed"


@dataclass(frozen=True)
class Photos:
    neutral: bytes
    challenge: bytes


class FaceUnavailable(ServiceError):
    status = 503


def evaluate(ctx: Ctx, *, sup: Supervisee, occ: CheckinOccurrence, challenge: str, photos: Photos) -> FaceResult:
    """Sanitise and store both photos, verify the neutral one, check the challenge pose."""
    raise FaceUnavailable("face verification is not installed on this server yet: face check-ins cannot be taken")
