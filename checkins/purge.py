"""End of term: purge a supervisee's check-in biometric data (the end-of-term work calls this).

The sealed face templates are deleted with their enrolment rows (the audit
trail keeps that an enrolment existed, never the templates), and every photo
file of the supervisee goes through core.media.purge (check-in selfies and
reference photos alike). One audited action, in the caller's unit of work.
"""
from __future__ import annotations

from sqlalchemy import delete, select

from checkins.models import CheckinChallenge, CheckinOccurrence, CheckinSubmission, FaceEnrolment
from core import media
from core.context import Ctx
from core.retention import Retention


def purge_biometrics(ctx: Ctx, supervisee_id: int) -> dict:
    """Delete the supervisee's face templates and photo files; {"enrolments": n, "media": m}."""
    versions = list(ctx.db.scalars(delete(FaceEnrolment).where(FaceEnrolment.supervisee_id == supervisee_id)
                                   .returning(FaceEnrolment.version)))
    purged = media.purge(ctx.db, supervisee_id=supervisee_id, ctx=ctx)
    ctx.record("face.purge", "supervisee", supervisee_id,
               detail={"enrolment_versions": sorted(versions), "media": purged})
    return {"enrolments": len(versions), "media": purged}


def purge_checkins(ctx: Ctx, supervisee_id: int) -> dict[str, int]:
    """The end-of-term purge of check-ins: biometrics, submissions (position, photos, scores), challenges.

    Plans, occurrences and the ledger stay: they are the record of what was
    required and what was missed (the legal file sanctions rest on).
    """
    occurrences = select(CheckinOccurrence.id).where(CheckinOccurrence.supervisee_id == supervisee_id)
    biometrics = purge_biometrics(ctx, supervisee_id)
    return {
        "face_enrolments": biometrics["enrolments"],
        "checkin_submissions": ctx.db.execute(delete(CheckinSubmission).where(
            (CheckinSubmission.supervisee_id == supervisee_id)
            | CheckinSubmission.occurrence_id.in_(occurrences))).rowcount,
        "checkin_challenges": ctx.db.execute(delete(CheckinChallenge).where(
            CheckinChallenge.occurrence_id.in_(occurrences))).rowcount,
    }


RETENTION = Retention(
    package="checkins",
    legal_file=("checkin_plans", "checkin_occurrences", "checkin_ledger"),
    operational=("face_enrolments", "checkin_submissions", "checkin_challenges"),
    purge=purge_checkins,
)
