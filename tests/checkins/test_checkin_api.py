"""Check-ins over REST: spot checks in time and late, nonce replay, accuracy, scoping,
the phone's location-only check-in, 人机分离, the review queue and compliance."""
from __future__ import annotations

from datetime import timedelta

from shapely.geometry import Point
from sqlalchemy import func, select, text

from alerts.models import Alert
from checkins.models import CheckinChallenge, CheckinOccurrence, CheckinSubmission
from tests.checkins.helpers import tick
from tests.factories import add_device, add_fence

HOME = (118.95, 28.95)


def advance(world, settings, clock, **kw):
    """Move the clock and re-issue the world's tokens (they live 15 minutes)."""
    from core.security import issue_access_token

    clock.advance(**kw)
    for key, user in world.users.items():
        world.tokens[key] = issue_access_token(settings.auth, user_id=user.id, role=user.role, now=clock.now()).token


def spot(client, world, who="officer_a", sup="a", **kw):
    body = {"supervisee_id": world.supervisees[sup].id, "requires_face": False, **kw}
    return client.post("/checkins/spot-checks", json=body, headers=world.auth(who))


def fetch(client, world, occ_id, who="supervisee_a"):
    return client.post(f"/checkins/{occ_id}/challenge", headers=world.auth(who))


def location(nonce, lon=HOME[0], lat=HOME[1], acc=20.0, datum="wgs84"):
    return {"nonce": nonce, "lon": lon, "lat": lat, "accuracy_m": acc, "datum": datum}


def fixes_of(db, sid):
    return db.scalar(text("SELECT count(*) FROM fixes WHERE supervisee_id = :s AND protocol = 'check-in'"), {"s": sid})


def test_spot_check_answered_in_time_stores_a_check_in_fix_judged_like_ingest(client, world, db, clock, settings):
    add_fence(db, world.supervisees["a"], "permitted", Point(*HOME).buffer(0.05))
    r = spot(client, world)
    assert r.status_code == 201, r.text
    occ = r.json()
    assert occ["state"] == "due" and occ["kind"] == "spot"
    assert [o["id"] for o in client.get("/checkins/due", headers=world.auth("supervisee_a")).json()] == [occ["id"]]
    ch = fetch(client, world, occ["id"]).json()
    assert ch["challenge"] == "none" and len(ch["nonce"]) >= 40
    advance(world, settings, clock, minutes=59)
    r = client.post(f"/checkins/{occ['id']}/location", json=location(ch["nonce"]), headers=world.auth("supervisee_a"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "received" and "outcome" not in r.json()
    sub = db.scalar(select(CheckinSubmission).where(CheckinSubmission.occurrence_id == occ["id"]))
    assert sub.outcome == "passed" and sub.location == "compliant" and sub.fix_id is not None
    row = db.execute(text("SELECT protocol, device_id, decisions FROM fixes WHERE id = :f"), {"f": sub.fix_id}).one()
    assert row.protocol == "check-in" and row.device_id is None and row.decisions  # judged by the fence engine
    # replaying the same nonce (and body) is refused, nothing more stored
    r = client.post(f"/checkins/{occ['id']}/location", json=location(ch["nonce"]), headers=world.auth("supervisee_a"))
    assert r.status_code == 409 and "already submitted" in r.json()["detail"]
    assert fixes_of(db, world.supervisees["a"].id) == 1


def test_nonce_replay_on_a_fresh_occurrence_and_a_retired_nonce_are_refused(client, world, db):
    first = spot(client, world).json()
    n1 = fetch(client, world, first["id"]).json()["nonce"]
    n2 = fetch(client, world, first["id"]).json()["nonce"]  # fetching again retires n1
    r = client.post(f"/checkins/{first['id']}/location", json=location(n1), headers=world.auth("supervisee_a"))
    assert r.status_code == 409 and "replaced" in r.json()["detail"]
    assert client.post(f"/checkins/{first['id']}/location", json=location(n2),
                       headers=world.auth("supervisee_a")).status_code == 200
    second = spot(client, world).json()
    fetch(client, world, second["id"])
    r = client.post(f"/checkins/{second['id']}/location", json=location(n2), headers=world.auth("supervisee_a"))
    assert r.status_code == 409 and "unknown nonce" in r.json()["detail"]


def test_spot_check_answered_late_is_refused_and_then_judged_missed(client, world, db, clock, job, settings):
    occ = spot(client, world, minutes=15).json()
    nonce = fetch(client, world, occ["id"]).json()["nonce"]
    advance(world, settings, clock, minutes=15)
    r = client.post(f"/checkins/{occ['id']}/location", json=location(nonce), headers=world.auth("supervisee_a"))
    assert r.status_code == 409 and r.json()["detail"].startswith("late")
    assert fixes_of(db, world.supervisees["a"].id) == 0
    assert db.scalar(select(CheckinChallenge.used_at).where(CheckinChallenge.occurrence_id == occ["id"])) is None
    tick(db, job, clock.now())
    row = db.get(CheckinOccurrence, occ["id"])
    db.refresh(row)
    assert row.state == "missed"
    alert = db.get(Alert, row.alert_id)
    assert alert.kind == "missed_checkin" and alert.detail["checkin_kind"] == "spot"


def test_accuracy_worse_than_the_limit_is_refused_with_nothing_half_stored(client, world, db, settings):
    occ = spot(client, world).json()
    nonce = fetch(client, world, occ["id"]).json()["nonce"]
    r = client.post(f"/checkins/{occ['id']}/location", json=location(nonce, acc=250),
                    headers=world.auth("supervisee_a"))
    assert r.status_code == 422 and "accuracy" in r.json()["detail"]
    assert fixes_of(db, world.supervisees["a"].id) == 0
    assert db.scalar(select(func.count()).select_from(CheckinSubmission)
                     .where(CheckinSubmission.occurrence_id == occ["id"])) == 0
    # the nonce was not used up by the refusal: a better fix with it is accepted
    r = client.post(f"/checkins/{occ['id']}/location", json=location(nonce, acc=30, datum="gcj02",
                                                                     lon=HOME[0] + 0.005, lat=HOME[1] - 0.002),
                    headers=world.auth("supervisee_a"))
    assert r.status_code == 200, r.text


def test_out_of_scope_looks_like_nonexistent(client, world):
    assert spot(client, world, who="officer_b").status_code == 404
    occ = spot(client, world).json()
    missing = fetch(client, world, 10**12, who="supervisee_a")
    other = fetch(client, world, occ["id"], who="supervisee_b")
    assert other.status_code == missing.status_code == 404 and other.json() == missing.json()
    assert client.get(f"/checkins/history?supervisee_id={world.supervisees['a'].id}",
                      headers=world.auth("officer_b")).status_code == 404


def test_face_check_in_needs_photos_and_the_phone_cannot_answer_it(client, world, db, settings):
    occ = spot(client, world, requires_face=True).json()
    ch = fetch(client, world, occ["id"]).json()
    assert ch["challenge"] in ("turn_left", "turn_right", "look_up", "look_down")
    r = client.post(f"/checkins/{occ['id']}/location", json=location(ch["nonce"]), headers=world.auth("supervisee_a"))
    assert r.status_code == 422 and "photos" in r.json()["detail"]
    _, secret = add_device(db, settings, world.supervisees["a"])
    r = client.post(f"/device/checkins/{occ['id']}/challenge", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403


def test_phone_credential_answers_a_location_only_check_and_phone_apart_raises_integrity(client, world, db,
                                                                                           settings, clock):
    _, secret = add_device(db, settings, world.supervisees["a"])
    dev = {"Authorization": f"Bearer {secret}"}
    # the phone reports from home a minute ago
    r = client.post("/ingest/native", headers=dev, json={"fixes": [{
        "id": "p1", "time": (clock.now() - timedelta(minutes=1)).isoformat(), "lon": HOME[0], "lat": HOME[1],
        "accuracy": 15}]})
    assert r.status_code == 200, r.text
    occ = spot(client, world).json()
    nonce = client.post(f"/device/checkins/{occ['id']}/challenge", headers=dev).json()["nonce"]
    far = (HOME[0] + 0.05, HOME[1])  # ~4.9 km east
    r = client.post(f"/device/checkins/{occ['id']}/location", json=location(nonce, lon=far[0], lat=far[1]),
                    headers=dev)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "received" and "outcome" not in r.json()  # the phone is not told either
    sub = db.scalar(select(CheckinSubmission).where(CheckinSubmission.occurrence_id == occ["id"]))
    assert sub.outcome == "review" and sub.via == "device" and sub.separation_m > 4000
    alert = db.scalar(select(Alert).where(Alert.supervisee_id == world.supervisees["a"].id,
                                          Alert.cause == "checkin:separation"))
    assert alert.kind == "integrity" and alert.evidence_count == 2
    # the failed check-in waits in the review queue; an officer overturns it with a reason
    queue = client.get("/checkins/ledger?pending=true", headers=world.auth("officer_a")).json()
    [entry] = [e for e in queue["items"] if e["occurrence_id"] == occ["id"]]
    assert entry["kind"] == "failed" and "phone apart" in entry["outcome"]
    assert client.get("/checkins/ledger?pending=true", headers=world.auth("officer_b")).json()["total"] == 0
    r = client.post(f"/checkins/ledger/{entry['id']}/decide", json={"decision": "overturned",
                                                                     "reason": "at work, phone on charge at home"},
                    headers=world.auth("officer_a"))
    assert r.status_code == 200 and r.json()["decision"] == "overturned"
    assert client.post(f"/checkins/ledger/{entry['id']}/decide", json={"decision": "confirmed", "reason": "x"},
                       headers=world.auth("officer_a")).status_code == 409
    hist = client.get(f"/checkins/history?supervisee_id={world.supervisees['a'].id}",
                      headers=world.auth("officer_a")).json()
    assert hist["items"][0]["submission"]["separation_m"] > 4000
    assert hist["items"][0]["submission"]["outcome"] == "review"  # staff see the judgement
    mine = client.get("/checkins/history", headers=world.auth("supervisee_a")).json()
    assert not {"separation_m", "outcome", "location"} & set(mine["items"][0]["submission"])  # not told
    month = clock.now().date().isoformat()
    rows = client.get(f"/checkins/compliance?month_from={month}&month_to={month}",
                      headers=world.auth("manager")).json()
    assert [r["in_review"] for r in rows if r["office_id"] == world.office_a.id] == [1]


FACES = __import__("pathlib").Path(__file__).resolve().parent.parent / "data" / "faces"


def face(name: str) -> bytes:
    return (FACES / f"person-{name}.jpg").read_bytes()


def enrol(client, world, *names, who="officer_a"):
    files = [("photos", (f"ref{i}.jpg", face(n) if isinstance(n, str) else n, "image/jpeg"))
             for i, n in enumerate(names)]
    return client.post(f"/supervisees/{world.supervisees['a'].id}/face-enrolment", files=files,
                       headers=world.auth(who))


def turn_challenge(client, world, occ_id):
    """Fetch until the server picks a head turn (a-2 is a-1's person with the head turned, yaw ≈ -18°)."""
    for _ in range(100):
        ch = fetch(client, world, occ_id).json()
        if ch["challenge"] in ("turn_left", "turn_right"):
            return ch
    raise AssertionError("never a turn challenge")


def submit_photos(client, world, occ_id, nonce, neutral: bytes, challenge: bytes):
    form = {"nonce": nonce, "lon": str(HOME[0]), "lat": str(HOME[1]), "accuracy_m": "20", "datum": "wgs84"}
    return client.post(f"/checkins/{occ_id}/submit", data=form, headers=world.auth("supervisee_a"),
                       files={"neutral": ("n.jpg", neutral, "image/jpeg"), "challenge": ("c.jpg", challenge, "image/jpeg")})


def test_enrolment_needs_two_photos_each_with_one_face_and_re_enrolment_is_audited(client, world, db):
    from tests.video.faces import no_face

    assert enrol(client, world, "a-2").status_code == 422  # one photo is not enough
    r = enrol(client, world, "a-2", no_face())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "photos[1]", r.text
    assert db.scalar(text("SELECT count(*) FROM face_enrolments")) == 0
    assert enrol(client, world, "a-2", "a-3", who="officer_b").status_code == 404
    first = enrol(client, world, "a-2", "a-3")
    assert first.status_code == 201 and first.json()["version"] == 1, first.text
    again = enrol(client, world, "a-3", "a-2")
    assert again.json() == {**again.json(), "version": 2, "replaced_version": 1}
    actions = db.scalars(text("SELECT action FROM audit_log WHERE object_id = :s AND action LIKE 'face.%' AND outcome = 'ok' ORDER BY seq"),
                         {"s": str(world.supervisees["a"].id)}).all()
    assert actions == ["face.enrol", "face.re_enrol"]
    # templates are sealed, not plain descriptors
    blob = db.scalar(text("SELECT templates FROM face_enrolments WHERE active"))
    assert len(blob) > 2 * 512 and b"zhijiao" not in blob


def test_face_check_in_same_person_with_the_head_turned_passes(client, world, db):
    assert enrol(client, world, "a-2", "a-3").status_code == 201
    occ = spot(client, world, requires_face=True).json()
    ch = turn_challenge(client, world, occ["id"])
    assert ch["prompt"] in ("请向左转头", "请向右转头")
    r = submit_photos(client, world, occ["id"], ch["nonce"], face("a-1"), face("a-2"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "received"
    sub = db.scalar(select(CheckinSubmission).where(CheckinSubmission.occurrence_id == occ["id"]))
    assert sub.outcome == "passed" and sub.face == "match" and sub.face_distance < 0.5 and sub.liveness == "passed"
    hist = client.get(f"/checkins/history?supervisee_id={world.supervisees['a'].id}",
                      headers=world.auth("officer_a")).json()
    assert hist["items"][0]["submission"]["photos"] == [sub.neutral_media_id, sub.challenge_media_id]


def test_same_photo_twice_or_another_person_goes_to_review_not_to_a_sanction(client, world, db):
    assert enrol(client, world, "a-2", "a-3").status_code == 201
    first = spot(client, world, requires_face=True).json()
    ch = turn_challenge(client, world, first["id"])
    r = submit_photos(client, world, first["id"], ch["nonce"], face("a-1"), face("a-1"))
    assert r.status_code == 200 and "outcome" not in r.json(), r.text
    second = spot(client, world, requires_face=True).json()
    ch = turn_challenge(client, world, second["id"])
    r = submit_photos(client, world, second["id"], ch["nonce"], face("b-1"), face("b-1"))
    assert r.status_code == 200 and "outcome" not in r.json()
    subs = {s.occurrence_id: s for s in db.scalars(select(CheckinSubmission))}
    assert subs[first["id"]].outcome == subs[second["id"]].outcome == "review"
    assert subs[first["id"]].face == "match" and "same photo" in subs[first["id"]].liveness
    assert subs[second["id"]].face == "no_match" and subs[second["id"]].face_distance > 0.6
    queue = client.get("/checkins/ledger?pending=true", headers=world.auth("officer_a")).json()["items"]
    outcomes = {e["occurrence_id"]: e["outcome"] for e in queue}
    assert "liveness" in outcomes[first["id"]] and "face no_match" in outcomes[second["id"]]
    # nothing sanctioned: no alert was raised for a face score
    assert db.scalar(select(func.count()).select_from(Alert).where(
        Alert.supervisee_id == world.supervisees["a"].id)) == 0


def test_face_check_in_refuses_a_non_image_with_nothing_stored(client, world, db):
    assert enrol(client, world, "a-2", "a-3").status_code == 201
    occ = spot(client, world, requires_face=True).json()
    nonce = fetch(client, world, occ["id"]).json()["nonce"]
    media_before = db.scalar(text("SELECT count(*) FROM media"))
    r = submit_photos(client, world, occ["id"], nonce, b"%PDF-1.4 not a photo", face("a-1"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "neutral", r.text
    assert "photo refused" in r.json()["detail"]
    assert fixes_of(db, world.supervisees["a"].id) == 0
    assert db.scalar(select(CheckinChallenge.used_at).where(CheckinChallenge.occurrence_id == occ["id"])) is None
    assert db.scalar(text("SELECT count(*) FROM media")) == media_before


def test_a_manager_sets_an_office_policy_and_the_next_round_re_plans(client, world, db, job, clock):
    r = client.put(f"/checkin-policies/{world.office_a.id}", json={"plan": "fixed_windows",
                                                                   "fixed_windows": ["07:30-08:00", "21:00-21:30"]},
                   headers=world.auth("manager"))
    assert r.status_code == 200, r.text
    assert r.json()["effective"]["plan"] == "fixed_windows" and r.json()["effective"]["spot_answer_minutes"] == 60
    assert client.put(f"/checkin-policies/{world.office_a.id}", json={"plan": "tier"},
                      headers=world.auth("officer_a")).status_code == 403  # an office cannot loosen its own
    assert client.get(f"/checkin-policies/{world.office_a.id}", headers=world.auth("officer_b")).status_code == 404
    assert client.put(f"/checkin-policies/{world.office_a.id}", json={"fixed_windows": ["25:00-26:00"]},
                      headers=world.auth("manager")).status_code == 422
    tick(db, job, clock.now())
    plan = client.get("/checkins/plan", headers=world.auth("supervisee_a")).json()
    assert plan["plan"]["kind"] == "fixed_windows" and plan["plan"]["rule"]["daily"] == ["07:30-08:00", "21:00-21:30"]
    assert {o["kind"] for o in plan["occurrences"]} == {"window"}
    other = client.get("/checkins/plan", headers=world.auth("supervisee_b")).json()
    assert other["plan"]["kind"] == "ordinary"  # office b keeps plans by tier
