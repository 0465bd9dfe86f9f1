"""The demo district's cameras: a simulated phone that drives out gets an alert with cameras in its evidence."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from alerts.models import Alert, AlertEvidence
from cameras.demo import seed_demo_cameras
from cameras.models import Camera, CameraSnapshot
from geo.demo import seed_demo
from geo.demo_simulator import DemoSimulator, provision_phones


def test_demo_cameras_cover_the_simulated_way_out(db, client, clock, settings) -> None:
    seed_demo(db, id_hash_key=settings.auth.id_hash_key, today=date.today(), device_key=settings.auth.device_key)
    added = seed_demo_cameras(db, phones=12)
    assert added > 393 and seed_demo_cameras(db, phones=12) == 0  # once
    assert db.scalar(select(func.count()).select_from(Camera)) >= added
    phones = provision_phones(db, device_key=settings.auth.device_key, count=12)
    db.commit()
    sim = DemoSimulator("", phones, clock, client)
    start, alert = clock.now(), None
    while clock.now() - start < timedelta(minutes=15) and alert is None:
        sim.tick()
        clock.advance(seconds=15)
        alert = db.scalar(select(Alert).where(Alert.kind == "left_permitted_area",
                                              Alert.supervisee_id.in_([p.supervisee_id for p in phones])))
    assert alert is not None
    cams = [e.detail["cameras"] for e in db.scalars(select(AlertEvidence).where(AlertEvidence.alert_id == alert.id))
            if "cameras" in (e.detail or {})]
    assert cams and cams[0], "the alert has no covering camera"
    assert db.scalars(select(CameraSnapshot).where(CameraSnapshot.alert_id == alert.id)).all()
