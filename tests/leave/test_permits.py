"""Standing permits: an allowed area on set days and hours, as per-occurrence fences."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from core.localtime import LOCAL_TZ
from geo.models import Fence
from leave.models import PermitOccurrence
from leave.scheduled import activate_standing_permits
from tests.leave.conftest import OUTSIDE, alerts_of, fixes


def _permit(client, auth, clock, **over):
    today = clock.now().astimezone(LOCAL_TZ).date()
    body = {"area": {"address": "衢州市外某工地", "circle": {"lon": OUTSIDE[0], "lat": OUTSIDE[1], "radius_m": 3000}},
            "reason": "每天去工地上班", "weekdays": list(range(7)), "start_time": "08:00", "end_time": "18:00",
            "valid_from": today.isoformat(), "valid_until": (today + timedelta(days=60)).isoformat(), **over}
    r = client.post("/leave-permits", headers=auth("leaver"), json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _occurrences(db, permit_id):
    return db.scalar(select(func.count()).select_from(PermitOccurrence).where(PermitOccurrence.permit_id == permit_id))


def test_inside_the_permit_area_in_its_window_is_allowed_outside_it_is_not(client, db, auth, clock, leaver, settings):
    permit = _permit(client, auth, clock)
    assert permit["required_level"] == "bureau"
    assert client.post(f"/leave-permits/{permit['id']}/approve", headers=auth("officer_a"),
                       json={"reason": "同意"}).status_code == 403
    r = client.post(f"/leave-permits/{permit['id']}/approve", headers=auth("manager"), json={"reason": "工作需要"})
    assert r.status_code == 200, r.text
    assert 7 <= _occurrences(db, permit["id"]) <= 8  # the next 7 days, today's included if not over

    day = (clock.now().astimezone(LOCAL_TZ) + timedelta(days=1)).date()
    at_work = datetime.combine(day, time(10, 0), LOCAL_TZ)
    clock.set(at_work + timedelta(minutes=10))
    r = client.post("/ingest/native", headers=leaver.device(), json=fixes(at_work, OUTSIDE, tag="work"))
    assert r.status_code == 200, r.text
    assert alerts_of(db, leaver.supervisee.id) == []

    evening = datetime.combine(day, time(20, 0), LOCAL_TZ)
    clock.set(evening + timedelta(minutes=10))
    r = client.post("/ingest/native", headers=leaver.device(), json=fixes(evening, OUTSIDE, tag="eve"))
    assert r.status_code == 200, r.text
    [alert] = alerts_of(db, leaver.supervisee.id)
    assert alert.kind == "left_permitted_area"


def test_occurrences_are_made_ahead_idempotently_and_end_with_the_permit(client, db, auth, clock, leaver, settings, job):
    permit = _permit(client, auth, clock, weekdays=[0, 2, 4])
    client.post(f"/leave-permits/{permit['id']}/approve", headers=auth("manager"), json={"reason": "同意"})
    made = _occurrences(db, permit["id"])
    assert 3 <= made <= 4
    assert activate_standing_permits(job(clock.now())) == 0
    clock.advance(days=7)
    assert activate_standing_permits(job(clock.now())) >= 2
    assert activate_standing_permits(job(clock.now())) == 0
    r = client.post(f"/leave-permits/{permit['id']}/end", headers=auth("manager"), json={"reason": "项目结束"})
    assert r.status_code == 200, r.text
    open_fences = db.scalar(select(func.count()).select_from(Fence).join(
        PermitOccurrence, PermitOccurrence.fence_id == Fence.id).where(
        PermitOccurrence.permit_id == permit["id"], PermitOccurrence.ends_at > clock.now(), Fence.retired_at.is_(None)))
    assert open_fences == 0
    assert activate_standing_permits(job(clock.now())) == 0
    # Another office's officer cannot see it.
    assert client.get(f"/leave-permits/{permit['id']}", headers=auth("officer_b")).status_code == 404
