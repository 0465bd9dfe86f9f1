"""The photos of a check-in: sanitised, stored encrypted, verified against the enrolment, liveness.

Both photos are sanitised (video.photos: type from the bytes, re-encoded, so
EXIF and GPS are gone) and stored encrypted (core.media) in the submission's
transaction: a refusal later rolls their rows back and the media sweep
deletes the orphaned files. The neutral photo is verified against the
supervisee's sealed enrolment (video.face.verify: match / no match /
inconclusive, the distance kept); the challenge photo must show the asked
pose (video.face.liveness). Anything but a match with liveness passed makes
the submission "review": evidence for an officer, never a sanction.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from checkins.models import CheckinOccurrence, FaceEnrolment
from core import media
from core.context import Ctx
from supervision.models import Supervisee
from video import face
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


def evaluate(ctx: Ctx, *, sup: Supervisee, occ: CheckinOccurrence, challenge: str, photos: Photos) -> FaceResult:
    """Sanitise and store both photos, verify the neutral one, check the challenge pose."""
    (n_id, n_jpeg), (c_id, c_jpeg) = store_photos(ctx, sup, photos)
    cfg = ctx.settings.face
    neutral, posed = face.analyse(n_jpeg, settings=cfg), face.analyse(c_jpeg, settings=cfg)
    references = enrolled_descriptors(ctx, sup.id)
    if not neutral.single:
        outcome, distance = ("no_face" if neutral.faces == 0 else "several_faces"), None
    elif not references:
        outcome, distance = "not_enrolled", None
    else:
        verdict = face.verify(neutral.descriptor, references, settings=cfg)
        outcome, distance = verdict.outcome, verdict.distance
    live = face.liveness(neutral, posed, challenge, settings=cfg)
    return FaceResult(face=outcome, distance=None if distance is None else round(distance, 4),
                      liveness="passed" if live.passed else live.reason[:64], neutral_media_id=n_id,
                      challenge_media_id=c_id)


def store_photos(ctx: Ctx, sup: Supervisee, photos: Photos) -> list[tuple[int, bytes]]:
    """Both photos sanitised and stored encrypted; [(media id, sanitised JPEG)] for neutral, challenge."""
    return [store_photo(ctx, sup, data, name, PHOTO_KIND)
            for name, data in (("neutral", photos.neutral), ("challenge", photos.challenge))]


def store_photo(ctx: Ctx, sup: Supervisee, data: bytes, field: str, kind: str) -> tuple[int, bytes]:
    try:
        clean = sanitize_photo(data, settings=ctx.settings.face)
    except PhotoRefused as exc:
        raise PhotoRefused(exc.reason, field=field) from None
    media_id = media.store(ctx.db, data=clean.jpeg, content_type="image/jpeg", kind=kind, purpose=PURPOSE,
                           supervisee_id=sup.id, settings=ctx.settings)
    return media_id, clean.jpeg


def template_aad(supervisee_id: int) -> bytes:
    """Binds sealed templates to their supervisee: a blob copied to another row does not open."""
    return f"zhijiao-face-templates:{supervisee_id}".encode()


def enrolled_descriptors(ctx: Ctx, supervisee_id: int) -> list:
    row = ctx.db.scalar(select(FaceEnrolment).where(FaceEnrolment.supervisee_id == supervisee_id,
                                                    FaceEnrolment.active.is_(True)))
    if row is None:
        return []
    data = media.unseal(row.templates, aad=template_aad(supervisee_id), settings=ctx.settings)
    return face.descriptors_from_bytes(data)
