"""Security-review findings on check-ins: what the supervisee is told, the cost of photo
submissions, compliance month bounds, and purging biometric data at the end of term."""
from __future__ import annotations

from shapely.geometry import Point
from sqlalchemy import select, text

from checkins.models import CheckinSubmission, FaceEnrolment
from core.audit import AuditEntry
from core.context import Ctx
from core.media.models import Media
from core.principal import Principal, RequestContext
from core.ratelimit import RateLimiter
from core.settings import FaceSettings
from tests.factories import add_fence
from tests.checkins.test_checkin_api import HOME, enrol, face, fetch, location, spot, submit_photos

ZONE = (HOME[0] + 0.02, HOME[1])  # an exclusion zone ~2 km east of home


def _answer(client, world, at):
    occ = spot(client, world).json()
    nonce = fetch(client, world, occ["id"]).json()["nonce"]
    r = client.post(f"/checkins/{occ['id']}/location", json=location(nonce, lon=at[0], lat=at[1]),
                    headers=world.auth("supervisee_a"))
    assert r.status_code == 200, r.text
    return {k: v for k, v in r.json().items() if k not in ("id", "occurrence_id")}


def test_a_check_in_inside_an_exclusion_zone_answers_like_one_outside(client, world, db):
    add_fence(db, world.supervisees["a"], "exclusion", Point(*ZONE).buffer(0.005))
    outside, inside = _answer(client, world, HOME), _answer(client, world, ZONE)
    assert inside == outside and inside["status"] == "received"
    assert sorted(s.outcome for s in db.scalars(select(CheckinSubmission))) == ["passed", "review"]


def test_accuracy_is_checked_before_the_photos_are_read(client, world, db):
    occ = spot(client, world, requires_face=True).json()
    nonce = fetch(client, world, occ["id"]).json()["nonce"]
    form = {"nonce": nonce, "lon": str(HOME[0]), "lat": str(HOME[1]), "accuracy_m": "250", "datum": "wgs84"}
    r = client.post(f"/checkins/{occ['id']}/submit", data=form, headers=world.auth("supervisee_a"),
                    files={"neutral": ("n.jpg", b"%PDF not a photo", "image/jpeg"),
                           "challenge": ("c.jpg", b"%PDF", "image/jpeg")})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "accuracy_m", r.text


def test_refused_submissions_are_counted_and_the_occurrence_stops_taking_them(client, world, db, settings):
    settings.checkins.checkin_max_refused_submissions = 2
    occ = spot(client, world).json()
    nonce = fetch(client, world, occ["id"]).json()["nonce"]
    for _ in range(2):  # the refusal rolls the nonce back, but is counted
        r = client.post(f"/checkins/{occ['id']}/location", json=location(nonce, acc=250),
                        headers=world.auth("supervisee_a"))
        assert r.status_code == 422
    r = client.post(f"/checkins/{occ['id']}/location", json=location(nonce), headers=world.auth("supervisee_a"))
    assert r.status_code == 409 and "refused attempts" in r.json()["detail"]
    nonce = fetch(client, world, occ["id"]).json()["nonce"]  # a new challenge does not reset the count
    r = client.post(f"/checkins/{occ['id']}/location", json=location(nonce), headers=world.auth("supervisee_a"))
    assert r.status_code == 409
    assert db.scalar(select(CheckinSubmission).where(CheckinSubmission.occurrence_id == occ["id"])) is None


def test_photo_check_ins_and_enrolments_are_rate_limited_per_user(client, world, db):
    heavy = client.app.state.limits.heavy
    for name in ("photo check-in", "face enrolment"):
        heavy[name] = RateLimiter(rate=1 / 3600, burst=1, what=f"user ({name})")
    assert enrol(client, world, "a-2", "a-3").status_code == 201
    assert enrol(client, world, "a-2", "a-3").status_code == 429
    occ = spot(client, world, requires_face=True).json()
    nonce = fetch(client, world, occ["id"]).json()["nonce"]
    assert submit_photos(client, world, occ["id"], nonce, b"x", b"x").status_code == 422  # counted, refused
    r = submit_photos(client, world, occ["id"], nonce, face("a-1"), face("a-2"))
    assert r.status_code == 429 and "retry-after" in r.headers


def test_photos_are_limited_to_16_megapixels_by_default():
    assert FaceSettings().photo_max_pixels <= 16_000_000


def test_compliance_months_out_of_range_are_refused_naming_the_field(client, world):
    for query, field in (("month_from=2026-01-01&month_to=9999-12-01", "month_to"),
                         ("month_from=0001-01-01&month_to=2026-01-01", "month_from"),
                         ("month_from=2026-05-01&month_to=2026-01-01", "month_from")):
        r = client.get(f"/checkins/compliance?{query}", headers=world.auth("manager"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text


def test_purging_biometrics_deletes_templates_and_photos_audited(client, world, db):
    from checkins.purge import purge_biometrics

    assert enrol(client, world, "a-2", "a-3").status_code == 201
    sid = world.supervisees["a"].id
    state = client.app.state
    officer = world.users["officer_a"]
    ctx = Ctx(db=db, request=RequestContext(Principal(officer.id, officer.username, "officer",
                                                      officer.jurisdiction_id, "1/"), request_id="r-purge"),
              audit=state.audit, settings=state.settings, clock=state.clock)
    assert purge_biometrics(ctx, sid) == {"enrolments": 1, "media": 2}
    assert db.scalar(select(FaceEnrolment).where(FaceEnrolment.supervisee_id == sid)) is None
    assert all(m.purged_at is not None for m in db.scalars(select(Media).where(Media.supervisee_id == sid)))
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "face.purge")).all()
    assert entry.object_id == str(sid) and entry.detail["enrolment_versions"] == [1]
    assert db.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'media.purge'")) == 1
