"""Done when: roll-calls against real loopback cameras (tests/cameras_fixture.py) serving the test
photographs: the enrolled person → match, another person → no match, a black hole → camera failed,
a picture without a face → no face. Frames are kept, read by the officer, never by the supervisee."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from core.audit import AuditLog
from core.context import Ctx
from core.media.models import Media
from core.principal import RequestContext
from rollcall.models import Rollcall, RollcallFrame
from rollcall.purge import purge_rollcalls
from tests.cameras_fixture import camera_servers
from tests.rollcall.helpers import add_camera, enrol, start
from tests.video.faces import no_face, photo
from video.capture import GrabPool

DEADLINE_S = 2.0


@pytest.fixture
def settings(settings):
    settings.cameras.camera_networks = ["127.0.0.0/8"]
    settings.rollcall.rollcall_frames_per_grab = 2
    settings.rollcall.rollcall_frame_interval_seconds = 0.0
    return settings


@pytest.fixture(scope="module")
def pool():
    p = GrabPool(workers=2, deadline_s=DEADLINE_S, max_queue=8)
    yield p
    p.close()


def _round(job, pool, now=None):
    from rollcall.grabbing import run_rollcalls

    return run_rollcalls(job(now), pool=pool)


def _rollcall_at(client, world, db, url: str, **kw) -> int:
    r = start(client, world, add_camera(db, world.office_a, url=url), **kw)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_the_enrolled_person_in_front_of_the_camera_matches(client, world, db, job, pool, clock):
    enrol(client, world)
    with camera_servers(images=[photo("a-1")]) as cams:
        rid = _rollcall_at(client, world, db, cams.still, gesture="raise_left_hand")
        assert _round(job, pool)["attempted"] == {rid: "match"}
        assert len(cams.requests) >= 1
    row = db.get(Rollcall, rid)
    assert (row.state, row.outcome, row.attempts) == ("done", "match", 1) and 0.3 < row.distance < 0.5
    [attempt] = row.evidence
    # the first of the two frames matched, so the second was not described
    assert attempt["outcome"] == "match" and attempt["error"] is None and len(attempt["frames"]) == 1
    assert attempt["frames"][0]["faces"] == 1 and attempt["frame_id"] is not None
    # no more grabs once matched
    assert _round(job, pool)["attempted"] == {}
    body = client.get(f"/rollcalls/{rid}", headers=world.auth("officer_a")).json()
    assert body["outcome"] == "match" and [f["outcome"] for f in body["frames"]] == ["match"]
    frame_url = f"/rollcall-frames/{body['frames'][0]['id']}"
    r = client.get(frame_url, headers=world.auth("officer_a"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
    assert r.headers["cache-control"] == "no-store"
    assert client.get(frame_url, headers=world.auth("supervisee_a")).status_code == 403
    other, missing = (client.get(u, headers=world.auth("officer_b")) for u in (frame_url, "/rollcall-frames/999999999"))
    assert other.status_code == missing.status_code == 404 and other.content == missing.content
    assert db.execute(text("SELECT count(*) FROM audit_log WHERE action = 'media.read' AND detail->>'purpose' = "
                           "'remote roll-call'")).scalar() == 1
    # the officer confirms; the supervisee was never told the outcome
    r = client.post(f"/rollcalls/{rid}/decision", json={"decision": "confirmed", "reason": "本人，举左手"},
                    headers=world.auth("officer_a"))
    assert r.status_code == 200 and r.json()["decision"] == "confirmed"
    own = client.get(f"/rollcalls/{rid}", headers=world.auth("supervisee_a")).json()
    assert own["state"] == "closed" and "outcome" not in own


def test_someone_else_does_not_match_and_the_window_keeps_the_best_attempt(client, world, db, job, pool, clock):
    enrol(client, world)
    with camera_servers(images=[photo("b-1")]) as cams:
        rid = _rollcall_at(client, world, db, cams.still, minutes=5)
        assert _round(job, pool)["attempted"] == {rid: "no_match"}
        assert _round(job, pool, clock.now() + timedelta(minutes=1))["attempted"] == {rid: "no_match"}
    row = db.get(Rollcall, rid)
    assert (row.state, row.outcome, row.attempts) == ("waiting", "no_match", 2) and row.distance > 0.6
    assert _round(job, pool, clock.now() + timedelta(minutes=5))["closed"] == 1
    db.refresh(row)
    assert (row.state, row.outcome) == ("done", "no_match")
    assert db.scalar(select(func.count()).select_from(RollcallFrame).where(RollcallFrame.rollcall_id == rid)) == 2


def test_a_black_hole_camera_fails_within_the_deadline(client, world, db, job, pool):
    enrol(client, world)
    with camera_servers() as cams:
        rid = _rollcall_at(client, world, db, cams.black_hole)
        started = time.monotonic()
        assert _round(job, pool)["attempted"] == {rid: "camera_failed"}
        assert time.monotonic() - started < DEADLINE_S + 2.0
    row = db.get(Rollcall, rid)
    assert row.state == "waiting" and row.outcome == "camera_failed"
    assert row.evidence[0]["error"] == "timeout" and row.evidence[0]["frame_id"] is None
    assert db.scalar(select(func.count()).select_from(RollcallFrame).where(RollcallFrame.rollcall_id == rid)) == 0


def test_a_picture_without_a_face_is_no_face(client, world, db, job, pool):
    enrol(client, world)
    with camera_servers(images=[no_face()]) as cams:
        rid = _rollcall_at(client, world, db, cams.mjpeg)
        assert _round(job, pool)["attempted"] == {rid: "no_face"}
    row = db.get(Rollcall, rid)
    assert row.outcome == "no_face" and row.evidence[0]["frames"][0]["faces"] == 0


def test_a_url_outside_the_camera_networks_now_is_refused_at_grab_time(client, world, db, job, pool, settings):
    enrol(client, world)
    with camera_servers(images=[photo("a-1")]) as cams:
        rid = _rollcall_at(client, world, db, cams.still)
        settings.cameras.camera_networks = ["127.9.0.0/16"]  # the networks changed after registration
        assert _round(job, pool)["attempted"] == {rid: "camera_failed"}
        assert cams.requests == []  # never contacted
    assert db.get(Rollcall, rid).evidence[0]["error"].startswith("refused")


def test_purge_deletes_the_frames_and_roll_calls_of_that_person_only(client, world, db, job, pool, settings, clock):
    enrol(client, world)
    with camera_servers(images=[photo("a-1")]) as cams:
        rid = _rollcall_at(client, world, db, cams.still)
        _round(job, pool)
    media_id = db.scalar(select(RollcallFrame.media_id).where(RollcallFrame.rollcall_id == rid))
    enrolment_media = db.scalar(select(func.count()).select_from(Media).where(
        Media.supervisee_id == world.supervisees["a"].id, Media.kind == "face_reference"))
    ctx = Ctx(db=db, request=RequestContext(principal=None), audit=AuditLog(settings.audit.audit_key.encode(), clock),
              settings=settings, clock=clock)
    counts = purge_rollcalls(ctx, world.supervisees["a"].id)
    assert counts == {"rollcalls": 1, "rollcall_frames": 1, "media": 1}
    assert db.get(Rollcall, rid) is None and db.get(Media, media_id).purged_at is not None
    assert db.scalar(select(func.count()).select_from(Media).where(  # check-in enrolment photos are not ours
        Media.supervisee_id == world.supervisees["a"].id, Media.kind == "face_reference",
        Media.purged_at.is_(None))) == enrolment_media == 2



def test_a_long_window_keeps_at_most_the_configured_frames(client, world, db, job, pool, clock, settings):
    settings.rollcall.rollcall_frames_kept = 2
    enrol(client, world)
    with camera_servers(images=[photo("b-1")]) as cams:
        rid = _rollcall_at(client, world, db, cams.still, minutes=10)
        for minute in range(4):
            assert _round(job, pool, clock.now() + timedelta(minutes=minute))["attempted"] == {rid: "no_match"}
    row = db.get(Rollcall, rid)
    assert row.attempts == 4 and [a["frame_id"] is not None for a in row.evidence] == [True, True, False, False]
    assert db.scalar(select(func.count()).select_from(RollcallFrame).where(RollcallFrame.rollcall_id == rid)) == 2
