"""Forged fixes cannot erase a violation or silence the lost-contact alarm."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from alerts.models import Alert
from geo.ingest.silence import check_silence
from tests.geo.ingest.conftest import EXCLUDED, HOME


def _post(client, tracked, fixes):
    r = client.post("/ingest/native", headers=tracked.bearer(), json={"fixes": fixes})
    assert r.status_code == 200, r.text
    return r.json()


def test_backdated_fixes_cannot_withdraw_a_violation(client, db, tracked, clock, world):
    t0 = clock.now() - timedelta(minutes=30)
    inside = [{"id": f"x{i}", "time": (t0 + timedelta(seconds=40 * i)).isoformat(), "lon": EXCLUDED[0],
               "lat": EXCLUDED[1], "accuracy": 10} for i in range(4)]
    _post(client, tracked, inside)
    alert = db.scalar(select(Alert).where(Alert.supervisee_id == tracked.supervisee.id,
                                          Alert.kind == "entered_exclusion_zone"))
    assert alert is not None
    r = client.post(f"/alerts/{alert.id}/acknowledge", headers=world.auth("officer_a"))
    assert r.status_code == 200, r.text
    # "At home", 7 km away, 20 s after each real fix: impossible speeds.
    forged = [{"id": f"h{i}", "time": (t0 + timedelta(seconds=40 * i + 20)).isoformat(), "lon": HOME[0],
               "lat": HOME[1], "accuracy": 10} for i in range(4)]
    result = _post(client, tracked, forged)
    assert result["flagged"] == 4 and "alerts" not in result
    db.refresh(alert)
    assert alert.state == "acknowledged" and alert.resolution is None


def test_future_fix_does_not_silence_the_lost_contact_alarm(client, db, tracked, clock, settings):
    _post(client, tracked, [{"id": "ok", "time": clock.now().isoformat(), "lon": HOME[0], "lat": HOME[1],
                             "accuracy": 10}])
    _post(client, tracked, [{"id": "far", "time": datetime(9999, 1, 1, tzinfo=UTC).isoformat(), "lon": HOME[0],
                             "lat": HOME[1], "accuracy": 10}])
    raised = check_silence(db, now=clock.now() + timedelta(days=30), settings=settings)
    assert len(raised) == 1


def test_ended_supervision_refuses_fixes(client, db, tracked, clock):
    tracked.supervisee.status = "ended"
    db.flush()
    r = client.post("/ingest/native", headers=tracked.bearer(), json={"fixes": [
        {"id": "e1", "time": clock.now().isoformat(), "lon": HOME[0], "lat": HOME[1], "accuracy": 10}]})
    assert r.status_code == 403 and "ended" in r.json()["detail"]


def test_deeply_nested_json_is_a_4xx(client):
    r = client.post("/ingest/osmand", content=b"[" * 50000, headers={"content-type": "application/json"})
    assert r.status_code == 422
