"""Decisions over whole tracks: arrival order, stationary jitter, datums."""
from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from shapely.geometry import Point
from sqlalchemy import select

from core.settings import Settings
from geo.datum import from_wgs84
from geo.engine import distance_to_boundary_m
from geo.fences.cache import FenceCache
from geo.ingest.devices import DeviceIdentity
from geo.ingest.fix import DecodedFix
from geo.ingest.models import ViolationEpisode
from geo.ingest.pipeline import IngestContext, ingest
from tests.factories import add_device, add_fence, add_supervisee
from tests.geo.ingest.conftest import EXCLUDED, HOME, OUTSIDE, QUJIANG_WGS84

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def _ctx(db, device, sup, now):
    ident = DeviceIdentity(device.id, sup.id, sup.office_id, sup.tier, device.protocol, sup.status)
    return IngestContext(db=db, now=now, settings=Settings(), device=ident, fences=FenceCache())


def _fix(i, t, lon, lat, acc, datum="wgs84"):
    return DecodedFix(client_fix_id=f"f{i}", time=t, lat=lat, lon=lon, datum=datum, accuracy_m=acc, raw={"i": i})


def _episodes(db, sup_id):
    rows = db.scalars(select(ViolationEpisode).where(ViolationEpisode.supervisee_id == sup_id,
                                                     ViolationEpisode.withdrawn.is_(False)))
    return sorted((r.fence_id, r.kind, r.opened_at, r.closed_at) for r in rows)


@pytest.fixture
def person(db, settings, world):
    sup = add_supervisee(db, settings, world.office_a, world.users["officer_a"], "戊", lon=HOME[0], lat=HOME[1])
    add_fence(db, sup, "permitted", QUJIANG_WGS84)
    add_fence(db, sup, "exclusion", Point(*EXCLUDED), radius_m=300)
    add_fence(db, sup, "curfew", Point(*HOME), radius_m=150,
              curfew=[{"start": "22:00", "end": "06:00", "weekdays": [0, 1, 2, 3, 4, 5, 6]}])
    device, _ = add_device(db, settings, sup)
    return sup, device


def _track(rng: random.Random) -> list[DecodedFix]:
    """Home, excursions out of the district and into the exclusion zone, short blips, noise."""
    places = [HOME] * 6 + [OUTSIDE] * 5 + [HOME] * 2 + [OUTSIDE] + [HOME] * 4 + [EXCLUDED] * 4 + [HOME] * 6
    fixes, t, last = [], T0 + timedelta(hours=9), None
    for i, (lon, lat) in enumerate(places * 2):
        # Moving between places takes hours (no impossible speeds: those are
        # flagged and excluded, which is tested elsewhere); staying, seconds.
        t += timedelta(hours=2) if (lon, lat) != last else timedelta(seconds=rng.choice([20, 45, 90, 300]))
        last = (lon, lat)
        acc = rng.choice([8.0, 15.0, 40.0, 400.0])  # 400 m: uncertain near the exclusion zone
        fixes.append(_fix(i, t, lon + rng.uniform(-1e-4, 1e-4), lat + rng.uniform(-1e-4, 1e-4), acc))
    return fixes


def test_same_violations_for_every_arrival_order(db, person):
    sup, device = person
    rng = random.Random(7)
    track = _track(rng)
    reference = None
    for trial in range(12):
        order = list(track)
        if trial:
            rng.shuffle(order)
        savepoint = db.begin_nested()
        pos = 0
        while pos < len(order):
            size = rng.choice([1, 2, 3, 5, 8]) if trial else len(order)
            ingest(order[pos:pos + size], _ctx(db, device, sup, T0 + timedelta(days=1)))
            pos += size
        got = _episodes(db, sup.id)
        savepoint.rollback()
        if reference is None:
            reference = got
            kinds = {k for _, k, _, _ in got}
            assert {"permitted", "exclusion"} <= kinds and len(got) >= 3, got
        assert got == reference, f"arrival order {trial} gave different violations"


def _inward_home(polygon, inside_m: float) -> tuple[float, float]:
    """A point ``inside_m`` metres inside the polygon's boundary (negative: outside)."""
    b = polygon.boundary if polygon.geom_type == "Polygon" else max(polygon.geoms, key=lambda g: g.area).boundary
    anchor = b.interpolate(0.37, normalized=True)
    best = None
    for k in range(72):
        a = 2 * math.pi * k / 72
        for r in np.linspace(5, 2000, 400):
            lon = anchor.x + r * math.cos(a) / (111_320 * math.cos(math.radians(anchor.y)))
            lat = anchor.y + r * math.sin(a) / 110_574
            d = float(distance_to_boundary_m(polygon, lon, lat)[0])
            if abs(d + inside_m) < 1.0:
                if best is None or r < best[0]:
                    best = (r, lon, lat)
                break
    assert best is not None
    return best[1], best[2]


def _jitter_week(home, seed: int) -> list[DecodedFix]:
    """Every 5 minutes for 7 days, reported accuracy 20-80 m, error drawn to match it
    (the reported radius holds ~68 % of fixes, as Android and iOS define it)."""
    rng = np.random.default_rng(seed)
    n = 7 * 24 * 12
    acc = rng.uniform(20, 80, n)
    sigma = acc / 1.51  # Rayleigh: P(r < acc) = 68 %
    dx, dy = rng.normal(0, 1, n) * sigma, rng.normal(0, 1, n) * sigma
    lon = home[0] + dx / (111_320 * math.cos(math.radians(home[1])))
    lat = home[1] + dy / 110_574
    return [_fix(i, T0 + timedelta(minutes=5 * i), float(lon[i]), float(lat[i]), float(acc[i])) for i in range(n)]


@pytest.mark.parametrize("inside_m,expected", [(30, 0), (-470, 1)])
def test_stationary_jitter_week(db, settings, world, inside_m, expected):
    home = _inward_home(QUJIANG_WGS84, inside_m)
    sup = add_supervisee(db, settings, world.office_a, world.users["officer_a"], "己", lon=home[0], lat=home[1])
    fence = add_fence(db, sup, "permitted", QUJIANG_WGS84)
    device, _ = add_device(db, settings, sup)
    fixes = _jitter_week(home, seed=2026)
    for hour in range(0, len(fixes), 12):  # a phone uploading every hour
        ingest(fixes[hour:hour + 12], _ctx(db, device, sup, T0 + timedelta(days=8)))
    episodes = [e for e in _episodes(db, sup.id) if e[0] == fence.id]
    assert len(episodes) == expected, episodes


def test_gcj02_reported_fixes_decide_like_wgs84(db, person):
    """The same positions reported in GCJ-02 (as an Amap-based app would) give the same decisions."""
    sup, device = person
    from geo.ingest.models import Fix

    rng = random.Random(3)
    track = _track(rng)
    gcj = []
    for f in track:
        lon, lat = from_wgs84(f.lon, f.lat, "gcj02")
        gcj.append(_fix(f"g{f.client_fix_id}", f.time, float(lon), float(lat), f.accuracy_m, "gcj02"))
    savepoint = db.begin_nested()
    ingest(track, _ctx(db, device, sup, T0 + timedelta(days=1)))
    wgs_eps = _episodes(db, sup.id)
    wgs_dec = [row.decisions for row in db.scalars(select(Fix).where(Fix.supervisee_id == sup.id).order_by(Fix.t))]
    savepoint.rollback()
    ingest(gcj, _ctx(db, device, sup, T0 + timedelta(days=1)))
    gcj_dec = [row.decisions for row in db.scalars(select(Fix).where(Fix.supervisee_id == sup.id).order_by(Fix.t))]
    assert _episodes(db, sup.id) == wgs_eps
    assert gcj_dec == wgs_dec


def test_in_order_phone_then_late_backlog_keeps_few_spaced_snapshots(db, person):
    """A phone sending one fix a minute for five hours, then every 10 s at home during
    the curfew (a quiet fold is written once per CHECKPOINT_SPACING_S of fix time; a
    busy one's running state is replaced, a checkpoint kept every CHECKPOINT_SPACING_S,
    at most MAX_SNAPSHOTS), then two violations arriving after a quiet snapshot but
    amid stored compliant fixes, then a backlog of fixes from inside the span arriving
    late: the episodes are those of the whole track sent at once."""
    from geo.ingest.folds import CHECKPOINT_SPACING_S, MAX_SNAPSHOTS
    from geo.ingest.models import FenceFold
    from geo.models import Fence

    sup, device = person
    rng = random.Random(11)
    track, t, last = [], T0 + timedelta(hours=9), HOME
    for i in range(340):
        # An hour at home, twenty minutes in the exclusion zone, and so on, then home
        # past midnight local (curfew). Moving takes 20 min: no fix is too fast to judge.
        place = EXCLUDED if (i // 20) % 4 == 3 and i < 300 else HOME
        t += timedelta(seconds=10) if i > 300 else timedelta(minutes=1 if place == last else 20)
        last = place
        track.append(_fix(i, t, place[0] + rng.uniform(-5e-5, 5e-5), place[1] + rng.uniform(-5e-5, 5e-5), 10.0))
    late = set(rng.sample(range(300), 30))
    now = T0 + timedelta(days=1)
    away = HOME[0] + 200 / (111_320 * math.cos(math.radians(HOME[1])))

    savepoint = db.begin_nested()
    for i, fix in enumerate(track):
        if i not in late:
            ingest([fix], _ctx(db, device, sup, now))
    folds = {f.fence_id: f for f in db.scalars(select(FenceFold).where(FenceFold.supervisee_id == sup.id))}
    kinds = {f.id: f.kind for f in db.scalars(select(Fence).where(Fence.supervisee_id == sup.id))}
    # Never left the district: that fold stayed quiet, written once per CHECKPOINT_SPACING_S
    # of fix time (not with every fix), so its newest snapshot is at most that far behind.
    [permitted] = [f for fid, f in folds.items() if kinds[fid] == "permitted"]
    newest = permitted.snapshots[-1]
    assert newest["open"] is None and not newest["run"]
    assert 0 < track[-1].time.timestamp() - newest["as_of"][0] < CHECKPOINT_SPACING_S
    [exclusion] = [f for fid, f in folds.items() if kinds[fid] == "exclusion"]
    assert len(exclusion.snapshots) >= 4
    for fold in folds.values():
        assert 1 <= len(fold.snapshots) <= MAX_SNAPSHOTS, fold.snapshots
        times = [s["as_of"][0] for s in fold.snapshots]
        assert times == sorted(times)
        # Every checkpoint (all but the running state) is spaced from the one before.
        assert all(b - a >= CHECKPOINT_SPACING_S for a, b in zip(times[:-2], times[1:-1])), times
    # The curfew fold is quiet, its newest snapshot behind stored fixes at home: two fixes
    # 200 m from home come after it, each followed by a stored fix at home, so neither run
    # of violations reaches two fixes, and no episode opens.
    [curfew] = [f for fid, f in folds.items() if kinds[fid] == "curfew"]
    newest = curfew.snapshots[-1]
    assert newest["open"] is None and not newest["run"]
    k = next(i for i, f in enumerate(track) if f.time.timestamp() > newest["as_of"][0])
    assert 300 < k < len(track) - 9
    # 70 s apart: one run of both would open an episode (2 fixes, 60 s).
    spurious = [_fix(1000 + n, track[i].time + timedelta(seconds=5), away, HOME[1], 10.0)
                for n, i in enumerate((k, k + 7))]
    assert all(not 6 <= f.time.astimezone(ZoneInfo("Asia/Shanghai")).hour < 22 for f in spurious)  # curfew hours
    result = ingest(spurious, _ctx(db, device, sup, now))
    assert result.stored == 2 and result.flagged == 0 and result.alerts == []
    assert [e for e in _episodes(db, sup.id) if e[2] > track[300].time] == []
    ordered_late = sorted(late)
    rng.shuffle(ordered_late)
    for pos in range(0, len(ordered_late), 7):
        ingest([track[i] for i in ordered_late[pos:pos + 7]], _ctx(db, device, sup, now))
    streamed = _episodes(db, sup.id)
    savepoint.rollback()

    ingest(track + spurious, _ctx(db, device, sup, now))
    reference = _episodes(db, sup.id)
    assert len([e for e in reference if e[1] == "exclusion"]) >= 3, reference
    assert streamed == reference


def test_snapshots_under_another_rule_are_dropped():
    """After a persistence rule change only the new rule's snapshots are kept: were the
    rule changed back, an old one would carry a count of closed episodes that the other
    rule's replay has since changed."""
    from geo.engine import PersistenceRule, PersistenceState
    from geo.ingest.folds import _state_to_json, next_snapshots

    a, b = PersistenceRule(2, 60.0), PersistenceRule(3, 120.0)
    old = [_state_to_json(PersistenceState(a, (100.0 * i, i), i)) for i in range(1, 4)]
    kept = next_snapshots(old, state=PersistenceState(b, (500.0, 9), 0), first_new=(450.0, 8))
    assert [cp["rule"] for cp in kept] == [[3, 120.0]]
    kept = next_snapshots(old, state=PersistenceState(a, (500.0, 9), 3), first_new=(250.0, 8))
    assert [cp["as_of"][0] for cp in kept] == [100.0, 200.0, 500.0]
