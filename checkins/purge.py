"""End of term: purge a supervisee's check-in biometric data (the end-of-term work calls this).

The sealed face templates are deleted with their enrolment rows (the audit
trail keeps that an enrolment existed, never the templates), and every photo
file of the supervisee goes through core.media.purge (check-in selfies and
reference photos alike). One audited action, in the caller's unit of work.
"""
from __future__ import annotations

from sqlalchemy import delete

from checkins.models import FaceEnrolment
from core import media
from core.context import Ctx


def purge_biometrics(ctx: Ctx, supervisee_id: int) -> dict:
    """Delete the supervisee's face templates and photo files; {"enrolments": n, "media": m}."""
    versions = list(ctx.db.scalars(delete(FaceEnrolment).where(FaceEnrolment.supervisee_id == supervisee_id)
                                   .returning(FaceEnrolment.version)))
    purged = media.purge(ctx.db, supervisee_id=supervisee_id, ctx=ctx)
    ctx.record("face.purge", "supervisee", supervisee_id,
               detail={"enrolment_versions": sorted(versions), "media": purged})
    return {"enrolments": len(versions), "media": purged}
