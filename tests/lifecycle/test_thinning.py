"""PIPL thinning while supervision runs: old raw fixes keep one per interval, plus every fix that is
evidence (an alert's, an episode's or in its span, a check-in's); recent fixes are untouched."""
from __future__ import annotations

from datetime import timedelta

from shapely.geometry import Point
from sqlalchemy import select

from alerts.models import AlertEvidence
from geo.ingest.models import Fix, ViolationEpisode
from lifecycle.scheduled import run_thinning
from tests.alerts.alert_helpers import make_alert
from core.basis import ORDINARY
from tests.factories import add_fence


def _fix(db, sid, t, n):
    row = Fix(supervisee_id=sid, dedup_key=f"thin-{sid}-{n}", fingerprint=f"{n:064d}", t=t, received_at=t,
              lon=118.95, lat=28.95, accuracy_m=10.0, datum="wgs84", protocol="native", raw={},
              purpose=ORDINARY)
    db.add(row)
    db.flush()
    return row.id


def test_old_fixes_are_thinned_and_evidence_and_recent_fixes_kept(db, world, settings, clock, job):
    settings.lifecycle.fix_thinning_days = 180
    settings.lifecycle.fix_thinning_keep_minutes = 60
    sid, other = world.supervisees["a"].id, world.supervisees["b"].id
    old = (clock.now() - timedelta(days=200)).replace(minute=0, second=0)
    # One hour of fixes every 5 minutes (12), for two people; and the same an hour later.
    ids = {who: [_fix(db, who, old + timedelta(minutes=5 * i), 100 * who + i) for i in range(24)]
           for who in (sid, other)}
    recent = [_fix(db, sid, clock.now() - timedelta(days=1, minutes=i), 10_000 + i) for i in range(5)]
    # Evidence: fix 3 is an alert's, fix 7 an episode's; fixes 14–16 lie in another episode's span.
    alert = make_alert(db, world, clock, "a")
    db.add(AlertEvidence(alert_id=alert.id, fix_id=ids[sid][3], t=old, detail={}, added_at=clock.now()))
    fence = add_fence(db, world.supervisees["a"], "permitted", Point(118.95, 28.95).buffer(0.1))
    db.add(ViolationEpisode(supervisee_id=sid, fence_id=fence.id, kind="outside", seq=1, opened_at=old,
                            closed_at=old + timedelta(minutes=1), evidence_fix_ids=[ids[sid][7]]))
    db.add(ViolationEpisode(supervisee_id=sid, fence_id=fence.id, kind="outside", seq=2,
                            opened_at=old + timedelta(minutes=70), closed_at=old + timedelta(minutes=80),
                            evidence_fix_ids=[]))
    db.flush()

    deleted = run_thinning(job())
    left = set(db.scalars(select(Fix.id).where(Fix.supervisee_id == sid)))
    a = ids[sid]
    # First of each hour (0, 12), the alert's (3), the episode's (7), the first episode's span (0: opened_at)
    # and the second episode's span (minutes 70, 75, 80: fixes 14, 15, 16).
    assert left == {a[0], a[3], a[7], a[12], a[14], a[15], a[16], *recent}
    assert set(db.scalars(select(Fix.id).where(Fix.supervisee_id == other))) == {ids[other][0], ids[other][12]}
    assert deleted == (24 - 7) + (24 - 2)
    assert run_thinning(job()) == 0  # idempotent
