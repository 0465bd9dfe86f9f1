"""Orders and positioning (Law art. 29): a tracker's or wristband's fixes are judged and stored only while
an order is in force, decided at each fix's own time; every stored fix carries its legal basis."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from shapely.geometry import Point
from sqlalchemy import select

from alerts.models import Alert
from core.audit import AuditLog
from core.audit.log import AuditEntry
from geo.fences.cache import FenceCache
from geo.ingest.models import Fix
from geo.ingest.mqtt.consume import MqttMessage, ingest_messages
from tests.factories import add_bureau_head, add_device, add_fence, add_positioning_order, add_supervisee
from tests.geo.ingest.conftest import EXCLUDED, HOME, QUJIANG_WGS84

S = timedelta(seconds=1)


@pytest.fixture
def person(db, settings, world, clock):
    """A supervisee in 衢江区 with an exclusion zone and an order that lapses at ``end`` (one hour ago)."""
    sup = add_supervisee(db, settings, world.office_a, world.users["officer_a"], "定位", *HOME)
    add_fence(db, sup, "permitted", QUJIANG_WGS84)
    add_fence(db, sup, "exclusion", Point(*EXCLUDED), radius_m=300, min_fixes=1, min_seconds=0)
    end = clock.now() - timedelta(hours=1)
    head = add_bureau_head(db, world.bureau, f"head-ingest-{sup.id}")
    order = add_positioning_order(db, sup, starts_at=end - timedelta(days=30), ends_at=end,
                                  proposed_by=world.users["officer_a"], approved_by=head)
    return sup, order, end


def send(client, secret: str, *times, at=HOME):
    fixes = [{"id": f"f-{t.timestamp()}", "time": t.isoformat(), "lon": at[0], "lat": at[1], "accuracy": 10}
             for t in times]
    return client.post("/ingest/native", headers={"Authorization": f"Bearer {secret}"}, json={"fixes": fixes})


def stored(db, sup) -> list[tuple]:
    db.expire_all()
    return [(r.t, r.purpose) for r in db.scalars(select(Fix).where(Fix.supervisee_id == sup.id).order_by(Fix.t))]


@pytest.mark.parametrize("kind", ["tracker", "wristband"])
def test_a_tracker_fix_one_second_before_lapse_is_stored_and_one_second_after_is_refused(
        client, db, settings, person, kind):
    sup, order, end = person
    _, secret = add_device(db, settings, sup, "native", kind=kind)
    r = send(client, secret, end - S)
    assert r.status_code == 200 and r.json()["stored"] == 1, r.text
    for t in (end, end + S):
        r = send(client, secret, t)
        assert r.status_code == 403, r.text
        assert "no electronic-positioning order in force" in r.json()["detail"] and "Law art. 29" in r.json()["detail"]
    assert stored(db, sup) == [(end - S, f"order:{order.id}")]


def test_a_batch_straddling_the_lapse_stores_the_lawful_part_and_says_what_it_refused(client, db, settings, person):
    sup, order, end = person
    _, secret = add_device(db, settings, sup, "native", kind="tracker")
    r = send(client, secret, end - 2 * S, end + S)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["stored"], body["refused"]) == (1, 1) and "Law art. 29" in body["refused_reason"]
    assert stored(db, sup) == [(end - 2 * S, f"order:{order.id}")]


def test_a_refused_fix_is_not_judged_a_lawful_one_is(client, db, settings, person):
    sup, order, end = person
    _, secret = add_device(db, settings, sup, "native", kind="tracker")
    assert send(client, secret, end + S, at=EXCLUDED).status_code == 403
    assert db.scalars(select(Alert).where(Alert.supervisee_id == sup.id, Alert.kind == "entered_exclusion_zone")).all() == []
    assert send(client, secret, end - S, at=EXCLUDED).status_code == 200
    assert len(db.scalars(select(Alert).where(Alert.supervisee_id == sup.id,
                                              Alert.kind == "entered_exclusion_zone")).all()) == 1


def test_a_positioning_grade_phone_falls_back_to_the_ordinary_check_after_lapse(client, db, settings, person):
    sup, order, end = person
    _, secret = add_device(db, settings, sup, "native", positioning_grade=True)
    assert send(client, secret, end - S, end + S).json()["stored"] == 2
    assert stored(db, sup) == [(end - S, f"order:{order.id}"), (end + S, "信息化核查")]


def test_an_ordinary_phone_is_the_ordinary_check_even_under_an_order(client, db, settings, person):
    sup, order, end = person
    _, secret = add_device(db, settings, sup, "native")
    assert send(client, secret, end - S).json()["stored"] == 1
    assert stored(db, sup) == [(end - S, "信息化核查")]


def test_over_mqtt_a_tracker_outside_an_order_is_refused_and_audited(db, settings, clock, person):
    sup, order, end = person
    add_device(db, settings, sup, "owntracks", owntracks_user="wb", owntracks_device="band", kind="wristband")
    audit = AuditLog(settings.audit.audit_key.encode(), clock)

    def message(t):
        return MqttMessage("owntracks/wb/band", json.dumps({"_type": "location", "lat": HOME[1], "lon": HOME[0],
                                                             "tst": int(t.timestamp()), "acc": 10}).encode())

    outcome = ingest_messages(db, [message(end - 2 * S), message(end + 2 * S)], now=clock.now(), settings=settings,
                              fences=FenceCache(), audit=audit)
    assert (outcome.stored, outcome.refused) == (1, 1)
    refusal = db.scalars(select(AuditEntry).where(AuditEntry.action == "ingest.mqtt")).all()[-1]
    assert refusal.outcome == "refused" and "Law art. 29" in refusal.detail["message"]
    outcome = ingest_messages(db, [message(end + 3 * S)], now=clock.now(), settings=settings, fences=FenceCache(),
                              audit=audit)
    assert (outcome.stored, outcome.refused) == (0, 1)
    assert stored(db, sup) == [(end - 2 * S, f"order:{order.id}")]
