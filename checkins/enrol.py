"""Face enrolment by an officer: two or more reference photos, each with exactly one face.

The photos are sanitised and stored encrypted like check-in photos (kind
"face_reference"); their descriptors are the templates, sealed together
(core.media.seal, bound to the supervisee) in one row: biometric data,
purpose-bound, purged with the supervisee's media at the end of term.
Re-enrolment deactivates the previous enrolment (kept, for the record) and is
audited with both versions. Any photo without exactly one face refuses the
whole enrolment (422 naming it): nothing half-enrolled.
"""
from __future__ import annotations

from sqlalchemy import func, select

from checkins.face_check import store_photo, template_aad
from checkins.models import FaceEnrolment
from core import media
from core.context import Ctx
from core.errors import Invalid
from supervision.models import Role
from supervision.scope import require_role
from supervision.supervisees import get_scoped
from video import face

REFERENCE_KIND = "face_reference"
MIN_PHOTOS, MAX_PHOTOS = 2, 6


def enrol(*, ctx: Ctx, supervisee_id: int, photos: list[bytes]) -> dict:
    require_role(ctx.principal, {Role.officer, Role.manager}, "enrol faces")
    sup = get_scoped(ctx, supervisee_id)
    if not MIN_PHOTOS <= len(photos) <= MAX_PHOTOS:
        raise Invalid(f"give {MIN_PHOTOS} to {MAX_PHOTOS} reference photos (got {len(photos)})", field="photos")
    ids, descriptors = [], []
    for i, data in enumerate(photos):
        media_id, jpeg = store_photo(ctx, sup, data, f"photos[{i}]", REFERENCE_KIND)
        found = face.analyse(jpeg, settings=ctx.settings.face)
        if not found.single:
            raise Invalid(f"photo {i + 1} shows {found.faces} faces: each reference photo must show exactly one",
                          field=f"photos[{i}]")
        ids.append(media_id)
        descriptors.append(found.descriptor)
    now = ctx.clock.now()
    previous = ctx.db.scalar(select(FaceEnrolment).where(FaceEnrolment.supervisee_id == sup.id,
                                                         FaceEnrolment.active.is_(True)).with_for_update())
    version = (ctx.db.scalar(select(func.max(FaceEnrolment.version)).where(
        FaceEnrolment.supervisee_id == sup.id)) or 0) + 1
    if previous is not None:
        previous.active = False
        ctx.db.flush()
    sealed = media.seal(face.descriptors_bytes(descriptors), aad=template_aad(sup.id), settings=ctx.settings)
    row = FaceEnrolment(supervisee_id=sup.id, version=version, active=True, media_ids=ids, templates=sealed,
                        enrolled_by=ctx.principal.user_id, enrolled_at=now)
    ctx.db.add(row)
    ctx.db.flush()
    ctx.record("face.enrol" if previous is None else "face.re_enrol", "supervisee", sup.id, detail={
        "version": version, "previous_version": previous.version if previous else None, "photos": ids})
    return {"supervisee_id": sup.id, "version": version, "photos": len(ids), "enrolled_at": now,
            "replaced_version": previous.version if previous else None}
