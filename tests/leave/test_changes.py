"""Extending (a new approval, routed by the total) and cutting short (the fence follows)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from geo.models import Fence, FenceVersion


def _approved(client, auth, clock, days=3):
    from tests.leave.conftest import leave_body

    start = clock.now() + timedelta(days=1)
    leave = client.post("/leave", headers=auth("supervisee_a"), json=leave_body(start, days=days)).json()
    r = client.post(f"/leave/{leave['id']}/approve", headers=auth("officer_a"), json={"reason": "同意"})
    assert r.status_code == 200, r.text
    return r.json(), start


def _versions(db, fence_id):
    rows = list(db.scalars(select(FenceVersion).where(FenceVersion.fence_id == fence_id).order_by(FenceVersion.version)))
    for v in rows:
        db.refresh(v)
    return rows


def test_extension_is_routed_by_total_and_moves_the_fence(client, auth, clock, db):
    leave, start = _approved(client, auth, clock, days=3)
    clock.set(start + timedelta(days=1))  # on leave: the fence has started
    new_return = start + timedelta(days=8)
    r = client.post(f"/leave/{leave['id']}/extend", headers=auth("supervisee_a"),
                    json={"return_at": new_return.isoformat(), "reason": "母亲需再住院五天"})
    assert r.status_code == 201, r.text
    ext = r.json()
    assert ext["parent_id"] == leave["id"] and ext["days"] == 5 and ext["total_days"] == 8
    assert ext["required_level"] == "bureau"
    assert client.post(f"/leave/{ext['id']}/approve", headers=auth("officer_a"),
                       json={"reason": "同意"}).status_code == 403
    r = client.post(f"/leave/{ext['id']}/approve", headers=auth("manager"), json={"reason": "同意延期"})
    assert r.status_code == 200, r.text
    parent = client.get(f"/leave/{leave['id']}", headers=auth("officer_a")).json()
    assert datetime.fromisoformat(parent["return_due_at"].replace("Z", "+00:00")) == new_return
    v1, v2 = _versions(db, leave["fence_id"])
    assert v1.valid_to == clock.now() and v2.valid_from == clock.now()
    assert v2.valid_to == new_return + timedelta(hours=6)
    # More than 30 days in total is refused; so is extending after the return time.
    r = client.post(f"/leave/{leave['id']}/extend", headers=auth("supervisee_a"),
                    json={"return_at": (start + timedelta(days=31)).isoformat(), "reason": "再延"})
    assert r.status_code == 422 and "30 days" in r.text
    clock.set(new_return + timedelta(minutes=1))
    r = client.post(f"/leave/{leave['id']}/extend", headers=auth("supervisee_a"),
                    json={"return_at": (start + timedelta(days=9)).isoformat(), "reason": "再延"})
    assert r.status_code == 409


def test_extension_before_departure_replaces_the_unstarted_fence(client, auth, clock, db):
    leave, start = _approved(client, auth, clock, days=2)
    r = client.post(f"/leave/{leave['id']}/extend", headers=auth("officer_a"),
                    json={"return_at": (start + timedelta(days=4)).isoformat(), "reason": "行程变更"})
    ext = r.json()
    assert ext["required_level"] == "office"
    # officer_a entered the extension: another decider is needed.
    assert client.post(f"/leave/{ext['id']}/approve", headers=auth("officer_a"),
                       json={"reason": "同意"}).status_code == 403
    assert client.post(f"/leave/{ext['id']}/approve", headers=auth("manager"), json={"reason": "同意"}).status_code == 200
    old = db.get(Fence, leave["fence_id"])
    db.refresh(old)
    assert old.retired_at == clock.now()
    parent = client.get(f"/leave/{leave['id']}", headers=auth("officer_a")).json()
    [new] = _versions(db, parent["fence_id"])
    assert new.valid_from == start - timedelta(hours=6) and new.valid_to == start + timedelta(days=4, hours=6)


def test_cut_short_closes_and_reopens_the_window(client, auth, clock, db):
    leave, start = _approved(client, auth, clock, days=5)
    clock.set(start + timedelta(days=1))
    sooner = clock.now() + timedelta(hours=3)
    r = client.post(f"/leave/{leave['id']}/cut-short", headers=auth("supervisee_a"),
                    json={"return_at": sooner.isoformat(), "reason": "提前结束"})
    assert r.status_code == 200, r.text
    v1, v2 = _versions(db, leave["fence_id"])
    assert v1.valid_to == clock.now() and v2.valid_to == sooner + timedelta(hours=6)
    later = client.post(f"/leave/{leave['id']}/cut-short", headers=auth("supervisee_a"),
                        json={"return_at": (start + timedelta(days=6)).isoformat(), "reason": "x"})
    assert later.status_code == 422 and "extension" in later.text
    past = client.post(f"/leave/{leave['id']}/cut-short", headers=auth("supervisee_a"),
                       json={"return_at": (clock.now() - timedelta(hours=2)).isoformat(), "reason": "x"})
    assert past.status_code == 422
