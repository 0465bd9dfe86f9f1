"""Officers reading a supervisee's check-in and enrolment photos (issue 9), every read audited.

Who may read: an officer or manager whose jurisdiction holds the supervisee.
Supervisees read none, not even their own: their history does not carry photo
ids either (they are not shown how the face check judged them). Admins and
auditors never (403). Only check-in photos and face references are served
here; any other media kind, a purged file, an unknown id and another office's
photo all answer the same 404, and the attempt is audited as ``media.read``
with outcome ``not_found``.
"""
from __future__ import annotations

from sqlalchemy import select

from checkins.enrol import REFERENCE_KIND
from checkins.face_check import PHOTO_KIND
from core import media
from core.context import Ctx
from core.errors import NotFound
from supervision.models import Role, Supervisee
from supervision.scope import require_role, supervisee_clause

# Media kind -> the purpose recorded with each read (core.media.read audits it).
PURPOSES = {PHOTO_KIND: "check-in review", REFERENCE_KIND: "face enrolment review"}


def read_photo(*, ctx: Ctx, media_id: int) -> media.MediaBlob:
    require_role(ctx.principal, {Role.officer, Role.manager}, "read check-in photos")
    kind = ctx.db.scalar(
        select(media.Media.kind)
        .join(Supervisee, Supervisee.id == media.Media.supervisee_id)
        .where(media.Media.id == media_id, media.Media.kind.in_(PURPOSES), media.Media.purged_at.is_(None),
               supervisee_clause(ctx.principal)))
    if kind is None:
        ctx.record("media.read", "media", media_id, outcome="not_found", detail={"purpose": "check-in review"})
        raise NotFound()
    return media.read(ctx.db, media_id, purpose=PURPOSES[kind], ctx=ctx)
