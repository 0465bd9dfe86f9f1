"""Reminders 7 days and 1 day before expiry, each once; the lapse with its audit row and notice; end of term."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerts.models import Alert
from core.audit import AuditEntry, AuditLog
from core.context import Ctx
from core.principal import RequestContext
from geo.ingest.models import PositioningWindow
from orders.models import PositioningOrder
from orders.scheduled import check_orders
from orders.service import end_orders_at_term_end
from tests.orders.conftest import DAY, make_order


def notices(db, order_id: int) -> list[tuple[str, str]]:
    """(event, kind) of the order's notices, oldest first."""
    return [(a.detail["event"], a.kind) for a in db.scalars(
        select(Alert).where(Alert.cause.like(f"order:{order_id}:%")).order_by(Alert.id))]


def test_reminders_are_sent_once_each_and_the_order_lapses_with_a_notice(client, world, db, clock, job, head):
    start = clock.now()
    end = start + 20 * DAY
    order = make_order(client, world, start=start, end=end)
    oid = order["id"]
    for at in (start, end - 7 * DAY - timedelta(seconds=1)):
        assert check_orders(job(at)) == []
    assert len(check_orders(job(end - 7 * DAY))) == 1
    for at in (end - 7 * DAY + timedelta(minutes=1), end - 3 * DAY, end - DAY - timedelta(seconds=1)):
        assert check_orders(job(at)) == []
    assert len(check_orders(job(end - DAY))) == 1
    assert check_orders(job(end - timedelta(hours=1))) == []
    assert notices(db, oid) == [("7d", "notice"), ("1d", "notice")]
    alert = db.scalar(select(Alert).where(Alert.cause.like(f"order:{oid}:1d:%")))
    assert alert.detail["officer_id"] == world.users["officer_a"].id and alert.severity == "low"
    assert "1 日后到期" in alert.title
    # The lapse: status, audit row, notice; once.
    assert check_orders(job(end - timedelta(seconds=1))) == []
    assert len(check_orders(job(end))) == 1
    assert check_orders(job(end + DAY)) == []
    db.expire_all()
    assert db.get(PositioningOrder, oid).status == "lapsed"
    assert notices(db, oid)[-1] == ("lapsed", "notice")
    lapse = list(db.scalars(select(AuditEntry).where(AuditEntry.action == "order.lapse",
                                                     AuditEntry.object_id == str(oid))))
    assert len(lapse) == 1


def test_an_extension_starts_the_reminders_again_for_the_new_end(client, world, db, clock, job, head):
    start = clock.now()
    order = make_order(client, world, start=start, end=start + 10 * DAY)
    oid = order["id"]
    assert len(check_orders(job(start + 3 * DAY))) == 1  # 7 days before the first end
    url = f"/positioning-orders/{oid}/extensions"
    assert client.post(url, headers=world.auth("officer_a"), json={
        "reassessment": "复评", "ends_at": (start + 40 * DAY).isoformat()}).status_code == 200
    assert client.post(url + "/approve", headers=world.auth("head")).status_code == 200
    assert check_orders(job(start + 9 * DAY)) == []  # the old end's 1-day reminder is not due any more
    assert len(check_orders(job(start + 33 * DAY))) == 1
    assert check_orders(job(start + 34 * DAY)) == []
    # The new end is announced afresh (its own notice), once.
    assert notices(db, oid) == [("7d", "notice"), ("7d", "notice")]


def test_an_order_approved_with_less_than_a_day_left_sends_one_reminder(client, world, db, clock, job, head):
    start = clock.now()
    order = make_order(client, world, start=start, end=start + timedelta(hours=12))
    assert len(check_orders(job(start))) == 1
    assert check_orders(job(start + timedelta(hours=1))) == []
    assert notices(db, order["id"]) == [("1d", "notice")]


def test_end_of_term_ends_every_open_order_at_the_given_instant(client, world, db, clock, settings, head):
    start = clock.now()
    order = make_order(client, world, start=start, end=start + 30 * DAY)
    at = start + 5 * DAY
    ctx = Ctx(db=db, request=RequestContext(None), audit=AuditLog(settings.audit.audit_key.encode(), clock),
              settings=settings, clock=clock)
    assert end_orders_at_term_end(ctx, supervisee_id=world.supervisees["a"].id, at=at) == [order["id"]]
    db.expire_all()
    row = db.get(PositioningOrder, order["id"])
    assert (row.status, row.ended_at, row.end_reason) == ("terminated", at, "term ended")
    assert db.get(PositioningWindow, order["id"]).ends_at == at
    assert end_orders_at_term_end(ctx, supervisee_id=world.supervisees["a"].id, at=at) == []
