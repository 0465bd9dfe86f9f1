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


def test_demo_camera_urls_are_loopback_and_refused_before_any_connection() -> None:
    # Parsed only: a literal address never resolves, so a refusal here is before any socket opens.
    import pytest

    from cameras.demo import _camera
    from core.settings import CameraSettings
    from video.camera_url import CameraUrlRefused, check_camera_url

    urls = [_camera("c", "c", 118.9, 28.9, 0, 90, 50, 1, n).stream_url for n in (0, 1, 249, 250, 9999)]
    assert all(u.startswith("rtsp://127.0.2.") for u in urls)
    for networks in (CameraSettings().camera_networks, ["0.0.0.0/0"], ["10.0.0.0/8"]):
        for url in urls:
            with pytest.raises(CameraUrlRefused):
                check_camera_url(url, networks=networks)
