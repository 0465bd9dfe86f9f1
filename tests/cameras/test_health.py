"""Camera health against real fixture cameras and the manual clock: spread, states, outages, scope."""
from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from cameras.health import next_slot, next_state, probe_cameras, round_seconds, slot
from cameras.health_models import CameraHealth, CameraOutage
from core.settings import CameraSettings
from supervision.models import AccountNotice, Role
from tests.factories import add_user
from tests.cameras_fixture import camera_servers
from video.capture import GrabPool


@pytest.fixture(scope="module")
def cams():
    with camera_servers() as servers:
        yield servers


@pytest.fixture(scope="module")
def pool():
    with GrabPool(workers=4, deadline_s=1.0) as p:
        yield p


@pytest.fixture
def settings(settings):
    settings.cameras.camera_networks = ["127.0.0.0/8"]
    return settings


def register(client, world, url, jurisdiction=None, code=None):
    jurisdiction = jurisdiction or world.office_a
    body = {"code": code or f"H-{time.monotonic_ns()}", "name": "health", "lon": 118.9, "lat": 28.9, "heading": 0.0,
            "fov": 90.0, "range_m": 100.0, "url": url, "jurisdiction_id": jurisdiction.id}
    r = client.post("/cameras", json=body, headers=world.auth("admin"))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def health(db, camera_id) -> CameraHealth:
    db.expire_all()
    return db.get(CameraHealth, camera_id)


def test_states_follow_consecutive_failures():
    cfg = CameraSettings(camera_degraded_after=1, camera_offline_after=3)
    assert [next_state("online", n, cfg) for n in (0, 1, 2, 3, 4)] == ["online", "degraded", "degraded", "offline",
                                                                       "offline"]
    assert next_state("unknown", 1, CameraSettings(camera_degraded_after=2, camera_offline_after=3)) == "unknown"
    assert next_state("offline", 0, cfg) == "online"


def test_slots_spread_over_the_period_and_keep_their_grid(clock):
    buckets = Counter(int(slot(i) * 10) for i in range(1, 14_001))
    assert len(buckets) == 10 and max(buckets.values()) < 1.1 * 1400 and min(buckets.values()) > 0.9 * 1400
    t, period = clock.now(), timedelta(minutes=10)
    assert next_slot(t, period, t) == t + period
    assert next_slot(t, period, t + timedelta(minutes=35)) == t + timedelta(minutes=40)  # missed rounds: same grid
    assert round_seconds(CameraSettings()) == 30.0


def test_every_camera_is_probed_once_per_period_spread_over_it(client, world, db, job, clock, cams, pool, settings):
    ids = [register(client, world, cams.still) for _ in range(12)]
    t0 = clock.now()
    assert probe_cameras(job(t0), pool=pool).get("ok", 0) <= 2  # first sight: slots handed out, few due at once
    period, step = timedelta(minutes=10), timedelta(seconds=round_seconds(settings.cameras))
    probes, t = [], t0
    while t < t0 + period:
        t += step
        probes.append(probe_cameras(job(t), pool=pool).get("ok", 0))
    assert sum(probes) + sum(1 for i in ids if health(db, i).last_probe_at == t0) == 12
    assert max(probes) <= 3  # spread: never a burst of all twelve
    for camera_id in ids:
        h = health(db, camera_id)
        assert h.state == "online" and h.last_ok_at is not None and h.latency_ms > 0
        assert t0 + period <= h.next_probe_at < t0 + 2 * period


class Rounds:
    """Health rounds at job times of their own, one probe period apart (the app's clock stays put, so the
    world's access tokens stay valid)."""

    def __init__(self, job, clock, pool, settings) -> None:
        self.job, self.pool, self.t = job, pool, clock.now()
        self.period = timedelta(minutes=settings.cameras.camera_probe_minutes)

    def first(self):
        return probe_cameras(self.job(self.t), pool=self.pool)

    def next(self, budget_s: float = 30):
        self.t += self.period  # every camera is due again
        return probe_cameras(self.job(self.t), pool=self.pool, budget_s=budget_s)


@pytest.fixture
def rounds(job, clock, pool, settings):
    return Rounds(job, clock, pool, settings)


def test_a_hung_camera_goes_degraded_then_offline_and_back(client, world, db, cams, rounds):
    camera_id = register(client, world, cams.black_hole)
    rounds.first()
    states = []
    for _ in range(3):
        assert rounds.next().get("timeout") == 1
        states.append(health(db, camera_id).state)
    assert states == ["degraded", "degraded", "offline"]
    h = health(db, camera_id)
    assert h.consecutive_failures == 3 and h.last_error == "timeout" and h.last_ok_at is None
    r = client.patch(f"/cameras/{camera_id}", json={"url": cams.mjpeg}, headers=world.auth("admin"))
    assert r.status_code == 200, r.text
    assert rounds.next().get("ok") == 1
    h = health(db, camera_id)
    assert (h.state, h.consecutive_failures, h.last_ok_at) == ("online", 0, rounds.t)
    trail = db.execute(text("SELECT detail->>'to' FROM audit_log WHERE action = 'camera.health' "
                            "AND object_id = :i ORDER BY seq"), {"i": str(camera_id)}).scalars().all()
    assert trail == ["degraded", "offline", "online"]


def test_a_refused_url_is_a_failure(client, world, db, cams, rounds, settings):
    camera_id = register(client, world, cams.still)
    rounds.first()
    settings.cameras.camera_networks = ["127.9.0.0/16"]  # the camera networks changed since registration
    rounds.next()
    h = health(db, camera_id)
    assert (h.state, h.last_error) == ("degraded", "refused")


def test_probes_are_bounded_and_a_round_keeps_to_its_time(client, world, cams, rounds, settings):
    settings.cameras.camera_probe_concurrency = 2
    for _ in range(6):
        register(client, world, cams.black_hole)
    rounds.first()
    start = time.monotonic()
    counts = rounds.next()
    took = time.monotonic() - start
    assert counts["timeout"] == 6
    assert took >= 3 * 0.6  # six hung probes, two at a time: three rounds of the worker's budget
    counts = rounds.next(budget_s=0.1)
    assert counts["left_for_next_round"] >= 3  # out of time: the rest wait for the next round


def notices(db, user) -> list[str]:
    return list(db.scalars(select(AccountNotice.kind).where(AccountNotice.user_id == user.id).order_by(AccountNotice.id)))


def test_an_office_with_many_cameras_offline_opens_an_outage_seen_in_scope(client, world, db, cams, rounds, settings):
    settings.cameras.camera_offline_after = 1
    admin_a = add_user(db, f"admin-a-{world.office_a.id}", Role.admin, world.office_a)
    admin_b = add_user(db, f"admin-b-{world.office_b.id}", Role.admin, world.office_b)
    healthy = [register(client, world, cams.still) for _ in range(2)]
    hung = register(client, world, cams.black_hole)
    register(client, world, cams.still, jurisdiction=world.office_b)
    rounds.first()
    rounds.next()
    outage = db.scalar(select(CameraOutage).where(CameraOutage.office_id == world.office_a.id))
    assert outage is not None and (outage.offline, outage.total, outage.cleared_at) == (1, 3, None)
    assert db.scalar(select(CameraOutage).where(CameraOutage.office_id == world.office_b.id)) is None
    # The admins over office A are told (the office's own and the bureau's), office B's admin is not.
    [told] = client.get("/auth/me", headers=world.auth("admin")).json()["notices"]
    assert told["kind"] == "camera_outage" and "1 of 3" in told["message"] and world.office_a.name in told["message"]
    assert notices(db, admin_a) == ["camera_outage"] and notices(db, admin_b) == []
    rounds.next()  # still out: no second notice while it lasts
    assert notices(db, admin_a) == ["camera_outage"]

    summary = client.get("/camera-health", headers=world.auth("admin")).json()["items"]
    a = next(i for i in summary if i["jurisdiction_id"] == world.office_a.id)
    assert (a["total"], a["online"], a["offline"], a["offline_share"]) == (3, 2, 1, 0.333)
    assert a["outage_since"] is not None
    seen_by_b = client.get("/camera-health", headers=world.auth("officer_b")).json()["items"]
    assert [i["jurisdiction_id"] for i in seen_by_b] == [world.office_b.id]
    assert client.get("/camera-health", headers=world.auth("supervisee_a")).status_code == 403

    mine = client.get(f"/camera-health/{hung}", headers=world.auth("officer_a"))
    assert mine.status_code == 200 and mine.json()["state"] == "offline" and mine.json()["last_error"] == "timeout"
    other = client.get(f"/camera-health/{hung}", headers=world.auth("officer_b"))
    missing = client.get("/camera-health/999999999", headers=world.auth("officer_b"))
    assert other.status_code == missing.status_code == 404 and other.content == missing.content

    r = client.patch(f"/cameras/{hung}", json={"url": cams.still}, headers=world.auth("admin"))
    assert r.status_code == 200
    rounds.next()
    db.expire_all()
    assert db.get(CameraOutage, outage.id).cleared_at == rounds.t
    assert notices(db, admin_a) == ["camera_outage", "camera_outage_cleared"] and notices(db, admin_b) == []
    assert all(health(db, i).state == "online" for i in [*healthy, hung])
