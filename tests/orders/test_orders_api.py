"""Electronic-positioning orders over REST (Law art. 29): the bureau head approves, three months at most,
extensions after a reassessment, early termination; every step audited and mirrored into geo's window."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.audit import AuditEntry
from geo.ingest.models import PositioningWindow
from orders.rules import latest_end
from orders.service import HEAD_ONLY
from tests.orders.conftest import DAY, approve, make_order, propose, reissue_tokens


def audit(db, action: str, order_id: int) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action,
                                                    AuditEntry.object_id == str(order_id)).order_by(AuditEntry.seq)))


def window(db, order_id: int) -> tuple:
    db.expire_all()
    w = db.get(PositioningWindow, order_id)
    return None if w is None else (w.starts_at, w.ends_at)


def test_an_officer_proposes_and_only_the_bureau_head_approves(client, world, db, clock, head):
    now = clock.now()
    r = propose(client, world, start=now, end=now + 30 * DAY)
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["status"], order["in_force"], order["approved_by"]) == ("proposed", False, None)
    assert order["ground_wording"] == "（二）无正当理由，未经批准离开所居住的市、县的"
    assert window(db, order["id"]) is None  # nothing lawful before the approval
    for who in ("manager", "officer_a", "auditor", "admin", "supervisee_a"):
        r = approve(client, world, order["id"], who=who)
        assert r.status_code == 403, (who, r.text)
    assert approve(client, world, order["id"], who="manager").json()["detail"] == HEAD_ONLY
    assert [a.outcome for a in audit(db, "order.approve", order["id"])][:1] == ["forbidden"]
    clock.advance(minutes=10)
    r = approve(client, world, order["id"])
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["status"], got["in_force"], got["approved_by"]) == ("approved", True, head.id)
    # Never retroactive: the lawful period starts at the approval, not at the proposed start.
    assert window(db, order["id"]) == (clock.now(), now + 30 * DAY)
    assert audit(db, "order.approve", order["id"])[-1].outcome == "ok"
    assert approve(client, world, order["id"]).status_code == 409  # already approved


def test_an_order_cannot_exceed_three_calendar_months(client, world, clock, head):
    start = clock.now() + DAY
    r = propose(client, world, start=start, end=latest_end(start) + timedelta(seconds=1))
    assert r.status_code == 422, r.text
    assert "3 calendar months" in r.text and "ends_at" in r.text
    assert propose(client, world, start=start, end=latest_end(start)).status_code == 201
    assert propose(client, world, start=start, end=start - DAY).status_code == 422


def test_the_head_does_not_approve_their_own_proposal_and_scope_hides_other_offices(client, world, clock, head):
    now = clock.now()
    own = propose(client, world, start=now, end=now + 10 * DAY, who="head").json()
    r = approve(client, world, own["id"])
    assert r.status_code == 403 and "proposed" in r.json()["detail"]
    order = propose(client, world, start=now, end=now + 10 * DAY).json()
    r = client.get(f"/positioning-orders/{order['id']}", headers=world.auth("officer_b"))
    missing = client.get("/positioning-orders/999999999", headers=world.auth("officer_b"))
    assert r.status_code == missing.status_code == 404 and r.content == missing.content


def test_an_extension_needs_a_reassessment_a_new_approval_and_adds_at_most_three_months(client, world, db, clock,
                                                                                       settings, head):
    now = clock.now()
    order = make_order(client, world, start=now, end=now + 30 * DAY)
    end = now + 30 * DAY
    url = f"/positioning-orders/{order['id']}/extensions"
    body = {"reassessment": "复评：仍有离开县境风险", "ends_at": (latest_end(end) + timedelta(seconds=1)).isoformat()}
    r = client.post(url, headers=world.auth("officer_a"), json=body)
    assert r.status_code == 422 and "at most 3 months" in r.text
    r = client.post(url, headers=world.auth("officer_a"), json={**body, "ends_at": (end - DAY).isoformat()})
    assert r.status_code == 422
    r = client.post(url, headers=world.auth("officer_a"), json={**body, "ends_at": latest_end(end).isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["ends_at"] == order["ends_at"]  # not extended until approved
    assert r.json()["extensions"][0]["reassessment"] == "复评：仍有离开县境风险"
    assert client.post(url, headers=world.auth("officer_a"), json=body | {
        "ends_at": (end + DAY).isoformat()}).status_code == 409  # one pending at a time
    assert client.post(url + "/approve", headers=world.auth("manager")).status_code == 403
    assert client.post(url + "/approve", headers=world.auth("officer_a")).status_code == 403
    r = client.post(url + "/approve", headers=world.auth("head"))
    assert r.status_code == 200, r.text
    ext = r.json()["extensions"][0]
    assert (ext["status"], ext["approved_by"]) == ("approved", head.id)
    assert window(db, order["id"])[1] == latest_end(end)
    assert [a.outcome for a in audit(db, "order.extension.approve", order["id"])][-1] == "ok"
    # A lapsed order cannot be extended: a new order (and approval) is needed.
    clock.set(latest_end(end))
    reissue_tokens(world, settings, clock)
    r = client.post(url, headers=world.auth("officer_a"), json={**body, "ends_at": (latest_end(end) + DAY).isoformat()})
    assert r.status_code == 409 and "lapsed" in r.text


def test_early_termination_needs_a_reason_and_closes_the_window_now(client, world, db, clock, settings, head):
    now = clock.now()
    order = make_order(client, world, start=now, end=now + 30 * DAY)
    clock.advance(days=3)
    reissue_tokens(world, settings, clock)
    url = f"/positioning-orders/{order['id']}/terminate"
    assert client.post(url, headers=world.auth("officer_a"), json={}).status_code == 422
    r = client.post(url, headers=world.auth("officer_a"), json={"reason": "已撤销监外执行"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["end_reason"], r.json()["in_force"]) == ("terminated", "已撤销监外执行", False)
    assert window(db, order["id"]) == (now, clock.now())
    (row,) = audit(db, "order.terminate", order["id"])
    assert row.detail["reason"] == "已撤销监外执行"
    assert client.post(url, headers=world.auth("officer_a"), json={"reason": "again"}).status_code == 409


def test_overlapping_orders_are_refused(client, world, clock, head):
    now = clock.now()
    first = make_order(client, world, start=now, end=now + 30 * DAY)
    second = propose(client, world, start=now + 10 * DAY, end=now + 40 * DAY).json()
    r = approve(client, world, second["id"])
    assert r.status_code == 409 and str(first["id"]) in r.text


def test_an_administrator_names_the_bureau_head_and_only_a_bureau_manager_can_be_one(client, world, db, clock):
    manager, officer = world.users["manager"], world.users["officer_a"]
    r = client.patch(f"/users/{officer.id}", headers=world.auth("admin"), json={"bureau_head": True})
    assert r.status_code == 422 and "manager of a district bureau" in r.text
    r = client.patch(f"/users/{manager.id}", headers=world.auth("manager"), json={"bureau_head": True})
    assert r.status_code == 403  # nobody makes themself the approver
    now = clock.now()
    order = propose(client, world, start=now, end=now + 10 * DAY).json()
    assert approve(client, world, order["id"], who="manager").status_code == 403
    r = client.patch(f"/users/{manager.id}", headers=world.auth("admin"), json={"bureau_head": True})
    assert r.status_code == 200 and r.json()["bureau_head"] is True
    assert approve(client, world, order["id"], who="manager").status_code == 200
