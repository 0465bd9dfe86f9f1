"""Silence past the tier's limit raises "signal lost" (escalated at once); a fix clears it.
Low battery and tamper flags raise device alerts."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerts.models import Alert
from geo.ingest.silence import check_silence
from tests.geo.ingest.conftest import HOME


def _post(client, tracked, t, i, **extra):
    fix = {"id": f"s{i}", "time": t.isoformat(), "lat": HOME[1], "lon": HOME[0], "accuracy": 10, **extra}
    r = client.post("/ingest/native", headers=tracked.bearer(), json={"fixes": [fix]})
    assert r.status_code == 200, r.text
    return r


def test_signal_lost_after_tier_limit_and_cleared_by_next_fix(client, db, tracked, clock, settings):
    tracked.supervisee.tier = "strict"  # 30 minutes
    db.flush()
    _post(client, tracked, clock.now(), 1)
    assert check_silence(db, now=clock.now() + timedelta(minutes=29), settings=settings) == []
    raised = check_silence(db, now=clock.now() + timedelta(minutes=31), settings=settings)
    assert len(raised) == 1
    alert = db.get(Alert, raised[0])
    assert alert.kind == "signal_lost" and alert.severity == "high"
    assert alert.escalation_level >= 1  # lost contact (Law art. 30): a search starts at once
    # Raised once, not every minute.
    assert check_silence(db, now=clock.now() + timedelta(minutes=45), settings=settings) == []
    clock.advance(minutes=50)
    _post(client, tracked, clock.now(), 2)
    db.refresh(alert)
    assert alert.cleared_at is not None


def test_ordinary_tier_waits_longer(client, db, tracked, clock, settings):
    tracked.supervisee.tier = "ordinary"  # 2 hours
    db.flush()
    _post(client, tracked, clock.now(), 1)
    assert check_silence(db, now=clock.now() + timedelta(minutes=110), settings=settings) == []
    assert len(check_silence(db, now=clock.now() + timedelta(minutes=125), settings=settings)) == 1


def test_low_battery_and_tamper_raise_device_alerts(client, db, tracked, clock):
    _post(client, tracked, clock.now() - timedelta(minutes=2), 1, battery=9)
    _post(client, tracked, clock.now() - timedelta(minutes=1), 2, battery=8)
    _post(client, tracked, clock.now(), 3, tamper=True)
    causes = sorted(db.scalars(select(Alert.cause).where(Alert.supervisee_id == tracked.supervisee.id)))
    assert causes == [f"device:{tracked.device.id}:battery", f"device:{tracked.device.id}:tamper"]
    battery = db.scalar(select(Alert).where(Alert.cause == f"device:{tracked.device.id}:battery"))
    assert battery.kind == "device" and battery.evidence_count == 2
