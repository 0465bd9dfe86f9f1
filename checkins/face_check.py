"""The photos of a check-in: sanitised, stored encrypted, verified against the enrolment, liveness.

Both photos are sanitised (video.photos: type from the bytes, re-encoded, so
EXIF and GPS are gone) and stored encrypted (core.media) in the submission's
transaction: a refusal later rolls their rows back and the media sweep
deletes the orphaned files. Face analysis (video.face) is issue 9 part A;
until it is merged a face check-in is refused with 503 saying so: never
accepted unchecked, never silently passed.
"""
from __future__ import annotations

from dataclasses import dataclass

from checkins.models import CheckinOccurrence
from core import media
from core.context import Ctx
from core.errors import ServiceError
from supervision.models import Supervisee
from video.photos import PhotoRefused, sanitize_photo

PHOTO_KIND = "checkin_photo"
PURPOSE = "check-in identity verification"


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
    stored = store_photos(ctx, sup, photos)  # noqa: F841 - used once face analysis is merged
    raise FaceUnavailable("face verification is not installed on this server yet: face check-ins cannot be taken")


def store_photos(ctx: Ctx, sup: Supervisee, photos: Photos) -> tuple[int, int]:
    """Both photos sanitised and stored encrypted; (neutral media id, challenge media id)."""
    ids = []
    for name, data in (("neutral", photos.neutral), ("challenge", photos.challenge)):
        try:
            clean = sanitize_photo(data, settings=ctx.settings.face)
        except PhotoRefused as exc:
            raise PhotoRefused(exc.reason, field=name) from None
        ids.append(media.store(ctx.db, data=clean.jpeg, content_type="image/jpeg", kind=PHOTO_KIND, purpose=PURPOSE,
                               supervisee_id=sup.id, settings=ctx.settings))
    return ids[0], ids[1]
