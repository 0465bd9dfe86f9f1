"""The demo simulator on the injectable clock: within minutes of simulated time (seconds
of real time) a phone it drives out of the district raises a live alert, through the
real ingest route."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from alerts.models import Alert
from geo.demo import seed_demo
from geo.demo_simulator import DemoSimulator, provision_phones


def test_simulator_raises_an_alert_within_minutes(db, client, clock, settings) -> None:
    seed_demo(db, id_hash_key=settings.auth.id_hash_key, today=date.today(), device_key=settings.auth.device_key)
    phones = provision_phones(db, device_key=settings.auth.device_key, count=12)
    db.commit()
    sim = DemoSimulator("", phones, clock, client)
    start = clock.now()
    accepted = 0
    alert = None
    while clock.now() - start < timedelta(minutes=15) and alert is None:
        accepted += sim.tick()
        clock.advance(seconds=15)
        alert = db.scalar(select(Alert).where(Alert.kind == "left_permitted_area",
                                              Alert.supervisee_id.in_([p.supervisee_id for p in phones])))
    assert sim.errors == 0
    assert alert is not None, f"no alert after {clock.now() - start} ({accepted} fixes accepted)"
    minutes = (clock.now() - start).total_seconds() / 60
    print(f"\nsimulator: 'left permitted area' after {minutes:.1f} simulated minutes, {accepted} fixes sent")
    assert minutes <= 10
    # Every phone reported, over the native protocol.
    assert accepted >= len(phones)
