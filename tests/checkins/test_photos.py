"""Officers reading check-in and enrolment photos: scoped, audited with a purpose, never cached,
another office's photo answering exactly like a photo that does not exist."""
from __future__ import annotations

from sqlalchemy import select, text

from checkins.models import CheckinSubmission, FaceEnrolment
from tests.checkins.test_checkin_api import enrol, face, spot, submit_photos, turn_challenge


def checked_in(client, world, db) -> CheckinSubmission:
    assert enrol(client, world, "a-2", "a-3").status_code == 201
    occ = spot(client, world, requires_face=True).json()
    ch = turn_challenge(client, world, occ["id"])
    assert submit_photos(client, world, occ["id"], ch["nonce"], face("a-1"), face("a-2")).status_code == 200
    return db.scalar(select(CheckinSubmission).where(CheckinSubmission.occurrence_id == occ["id"]))


def photo(client, world, media_id, who="officer_a"):
    return client.get(f"/checkins/photos/{media_id}", headers=world.auth(who))


def audit(db, media_id):
    return db.execute(text("SELECT outcome, detail->>'purpose' FROM audit_log WHERE action = 'media.read' "
                           "AND object_id = :m ORDER BY seq"), {"m": str(media_id)}).all()


def test_the_officer_sees_the_check_in_photos_audited_and_not_cached(client, world, db):
    sub = checked_in(client, world, db)
    for media_id in (sub.neutral_media_id, sub.challenge_media_id):
        r = photo(client, world, media_id)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/jpeg" and r.headers["cache-control"] == "no-store"
        assert r.content[:2] == b"\xff\xd8"  # the sanitised JPEG, decrypted
        assert audit(db, media_id) == [("ok", "check-in review")]
    assert photo(client, world, sub.neutral_media_id, who="manager").status_code == 200


def test_enrolment_photos_are_served_to_the_officer_with_their_own_purpose(client, world, db):
    assert enrol(client, world, "a-2", "a-3").status_code == 201
    ids = db.scalar(select(FaceEnrolment.media_ids).where(FaceEnrolment.active.is_(True)))
    r = photo(client, world, ids[0])
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert audit(db, ids[0]) == [("ok", "face enrolment review")]


def test_another_office_gets_exactly_the_answer_for_a_photo_that_does_not_exist(client, world, db):
    sub = checked_in(client, world, db)
    foreign = photo(client, world, sub.neutral_media_id, who="officer_b")
    missing = photo(client, world, 2**62, who="officer_b")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content and foreign.headers["content-type"] == missing.headers["content-type"]
    assert audit(db, sub.neutral_media_id)[-1] == ("not_found", "check-in review")  # the attempt is on record


def test_supervisees_admins_and_auditors_never_read_photos(client, world, db):
    sub = checked_in(client, world, db)
    for who in ("supervisee_a", "admin", "auditor"):
        assert photo(client, world, sub.neutral_media_id, who=who).status_code == 403, who
    assert client.get(f"/checkins/photos/{sub.neutral_media_id}").status_code == 401
    assert audit(db, sub.neutral_media_id) == []  # refused before anything was read


def test_a_purged_photo_is_gone(client, world, db, job, clock):
    from core import media

    sub = checked_in(client, world, db)
    assert media.purge(db, supervisee_id=world.supervisees["a"].id, ctx=job(clock.now())) >= 2
    assert photo(client, world, sub.neutral_media_id).status_code == 404
