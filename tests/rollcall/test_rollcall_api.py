"""Roll-calls over REST: start, what the supervisee sees, scoping, refusals, suggestions, decisions."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from rollcall.models import Rollcall
from tests.rollcall.helpers import HOME, add_camera, add_fix, enrol, round_, start


def test_start_shows_the_supervisee_the_camera_gesture_and_deadline_only(client, world, db, clock):
    enrol(client, world)
    camera = add_camera(db, world.office_a, name="甲村文化礼堂门口")
    r = start(client, world, camera, gesture="raise_left_hand", minutes=15)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["state"] == "waiting" and made["camera"]["name"] == "甲村文化礼堂门口"
    assert made["deadline_at"].startswith((clock.now() + timedelta(minutes=15)).isoformat()[:19])
    assert db.execute(text("SELECT detail->>'gesture' FROM audit_log WHERE action = 'rollcall.start' "
                           "AND object_id = :i"),
                      {"i": str(made["id"])}).scalar() == "raise_left_hand"
    mine = client.get("/rollcalls/mine", headers=world.auth("supervisee_a"))
    assert mine.status_code == 200
    [req] = mine.json()
    assert req["id"] == made["id"] and req["prompt"] == "请面向摄像头，举起左手" and req["state"] == "open"
    assert req["camera"] == {"id": camera.id, "name": "甲村文化礼堂门口", "lon": HOME[0], "lat": HOME[1]}
    for hidden in ("outcome", "distance", "evidence", "frames", "decision"):
        assert hidden not in req
    own = client.get(f"/rollcalls/{made['id']}", headers=world.auth("supervisee_a")).json()
    assert "outcome" not in own and "frames" not in own
    # another supervisee, another office's officer: exactly like nothing
    missing = client.get("/rollcalls/999999999", headers=world.auth("supervisee_b"))
    for who in ("supervisee_b", "officer_b"):
        r = client.get(f"/rollcalls/{made['id']}", headers=world.auth(who))
        assert r.status_code == 404 and r.content == missing.content
    assert client.get("/rollcalls/mine", headers=world.auth("supervisee_b")).json() == []
    assert client.get("/rollcalls/mine", headers=world.auth("officer_a")).status_code == 403


def test_refusals_name_what_is_wrong(client, world, db):
    camera = add_camera(db, world.office_a)
    r = start(client, world, camera)
    assert r.status_code == 409 and "face enrolment" in r.json()["detail"]
    enrol(client, world)
    r = start(client, world, camera, gesture="moonwalk")
    assert r.status_code == 422 and "unknown gesture" in r.text
    r = start(client, world, camera, minutes=61)
    assert r.status_code == 422 and "minutes" in r.text
    other = add_camera(db, world.office_b)
    assert start(client, world, other).status_code == 404  # a camera outside the officer's office
    disabled = add_camera(db, world.office_a, status="disabled")
    assert start(client, world, disabled).status_code == 404
    assert start(client, world, camera, who="officer_b").status_code == 404  # someone else's supervisee
    assert start(client, world, camera, who="supervisee_a").status_code == 403
    assert start(client, world, camera, who="auditor").status_code == 403
    assert db.scalar(select(Rollcall).where(Rollcall.supervisee_id == world.supervisees["a"].id)) is None


def test_suggestions_are_the_nearest_cameras_to_the_phone_in_scope(client, world, db, clock):
    sup = world.supervisees["a"]
    url = f"/supervisees/{sup.id}/rollcall-cameras"
    assert client.get(url, headers=world.auth("officer_a")).json()["cameras"] == []  # no fix yet
    add_fix(db, sup, clock.now() - timedelta(hours=3), 119.5, 29.5)  # an old fix far away
    add_fix(db, sup, clock.now() - timedelta(minutes=5), *HOME)
    # ~0.001° of latitude is ~111 m
    far = add_camera(db, world.office_a, name="远", lat=HOME[1] + 0.004)
    near = add_camera(db, world.office_a, name="近", lat=HOME[1] + 0.001)
    add_camera(db, world.office_a, name="太远", lat=HOME[1] + 0.02)
    add_camera(db, world.office_b, name="别所", lat=HOME[1] + 0.0005)
    r = client.get(url, headers=world.auth("officer_a"), params={"radius_m": 1000})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [c["id"] for c in body["cameras"]] == [near.id, far.id]
    assert 100 < body["cameras"][0]["distance_m"] < 120 and body["position"]["lon"] == HOME[0]
    assert client.get(url, headers=world.auth("officer_b")).status_code == 404
    assert client.get(url, headers=world.auth("supervisee_a")).status_code == 403


def test_a_window_without_any_grab_closes_as_camera_failed_and_waits_for_the_officer(client, world, db, clock,
                                                                                     job, settings):
    enrol(client, world)
    made = start(client, world, add_camera(db, world.office_a), minutes=5).json()
    rid = made["id"]
    r = client.post(f"/rollcalls/{rid}/decision", json={"decision": "confirmed", "reason": "x"},
                    headers=world.auth("officer_a"))
    assert r.status_code == 409 and "waiting" in r.json()["detail"]
    assert round_(db, job, clock.now() + timedelta(minutes=6)) == {"closed": 1, "attempted": {}}
    clock.advance(minutes=6)
    assert client.get("/rollcalls/mine", headers=world.auth("supervisee_a")).json() == []
    pending = client.get("/rollcalls", params={"pending": True}, headers=world.auth("officer_a")).json()
    assert [i["id"] for i in pending["items"]] == [rid] and pending["items"][0]["outcome"] == "camera_failed"
    assert client.get("/rollcalls", params={"pending": True}, headers=world.auth("officer_b")).json()["items"] == []
    r = client.post(f"/rollcalls/{rid}/decision", json={"decision": "overturned", "reason": "摄像头当日停电"},
                    headers=world.auth("officer_a"))
    assert r.status_code == 200 and r.json()["decision"] == "overturned"
    again = client.post(f"/rollcalls/{rid}/decision", json={"decision": "confirmed", "reason": "x"},
                        headers=world.auth("officer_a"))
    assert again.status_code == 409 and "already decided" in again.json()["detail"]
    assert client.get("/rollcalls", params={"pending": True}, headers=world.auth("officer_a")).json()["items"] == []


def test_cancel_stops_a_waiting_roll_call(client, world, db, clock, job):
    enrol(client, world)
    rid = start(client, world, add_camera(db, world.office_a)).json()["id"]

    def cancel(who):
        return client.post(f"/rollcalls/{rid}/cancel", json={"reason": "x"}, headers=world.auth(who))

    assert cancel("officer_b").status_code == 404
    r = client.post(f"/rollcalls/{rid}/cancel", json={"reason": "对象已到所报到"}, headers=world.auth("officer_a"))
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert round_(db, job) == {"closed": 0, "attempted": {}}
    assert cancel("officer_a").status_code == 409
