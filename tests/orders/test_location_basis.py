"""Every read of location data records its legal basis (order id or 信息化核查) in its audit row."""
from __future__ import annotations

from datetime import timedelta

from shapely.geometry import Point
from sqlalchemy import select

from alerts.models import Alert
from core.audit import AuditEntry
from tests.factories import add_bureau_head, add_device, add_fence, add_positioning_order, add_supervisee
from tests.geo.ingest.conftest import EXCLUDED, HOME


def last_audit(db, action: str) -> AuditEntry:
    return db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq.desc())).first()


def test_tracks_positions_and_alert_evidence_record_their_basis(client, world, db, settings, clock):
    sup = add_supervisee(db, settings, world.office_a, world.users["officer_a"], "依据", *HOME)
    add_fence(db, sup, "exclusion", Point(*EXCLUDED), radius_m=300, min_fixes=1, min_seconds=0)
    now = clock.now()
    head = add_bureau_head(db, world.bureau, "head-basis")
    order = add_positioning_order(db, sup, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1),
                                  proposed_by=world.users["officer_a"], approved_by=head)
    _, tracker = add_device(db, settings, sup, "native", kind="tracker")
    _, phone = add_device(db, settings, sup, "native")
    for secret, minutes, at in ((phone, 20, HOME), (tracker, 10, EXCLUDED)):
        t = now - timedelta(minutes=minutes)
        r = client.post("/ingest/native", headers={"Authorization": f"Bearer {secret}"}, json={"fixes": [
            {"id": f"b-{minutes}", "time": t.isoformat(), "lon": at[0], "lat": at[1], "accuracy": 10}]})
        assert r.status_code == 200, r.text
    officer = world.auth("officer_a")
    since = (now - timedelta(hours=1)).isoformat()
    r = client.get(f"/supervisees/{sup.id}/fixes", headers=officer, params={"since": since})
    assert [f["purpose"] for f in r.json()["fixes"]] == ["信息化核查", f"order:{order.id}"]
    assert last_audit(db, "track.read").detail["basis"] == sorted(["信息化核查", f"order:{order.id}"])
    # Only the phone's fix: only the ordinary check.
    r = client.get(f"/supervisees/{sup.id}/fixes", headers=officer,
                   params={"since": since, "until": (now - timedelta(minutes=15)).isoformat()})
    assert r.json()["count"] == 1 and last_audit(db, "track.read").detail["basis"] == ["信息化核查"]
    assert client.get("/positions", headers=officer).status_code == 200
    assert f"order:{order.id}" in last_audit(db, "positions.read").detail["basis"]
    alert = db.scalar(select(Alert).where(Alert.supervisee_id == sup.id, Alert.kind == "entered_exclusion_zone"))
    assert client.get(f"/alerts/{alert.id}", headers=officer).status_code == 200
    assert last_audit(db, "alert.read").detail["basis"] == [f"order:{order.id}"]
