"""apply_facts: producers' facts become alert changes, in order, decided in alerts/ only."""
from __future__ import annotations

from datetime import timedelta

from alerts.facts import (
    EpisodeClosed, EpisodeContinued, EpisodeOpened, EpisodeWithdrawn, Evidence, FixesFlagged, FlaggedFix, Subject,
)
from alerts.intake import apply_facts, episode_kind
from alerts.models import Alert, AlertKind
from tests.alerts.alert_helpers import event_types


def _subject(world) -> Subject:
    s = world.supervisees["a"]
    return Subject(s.id, s.office_id, s.tier)


def _opened(t, *, closed_at=None, kind="permitted") -> EpisodeOpened:
    return EpisodeOpened(fence_id=7, fence_kind=kind, fence_version=1, on_leave=False, opened_at=t,
                         closed_at=closed_at, evidence=[Evidence(t=t, lon=118.9, lat=28.9)])


def test_fence_kinds_map_to_alert_kinds():
    assert episode_kind("exclusion", on_leave=True) == AlertKind.entered_exclusion_zone
    assert episode_kind("curfew", on_leave=False) == AlertKind.curfew_breach
    assert episode_kind("permitted", on_leave=False) == AlertKind.left_permitted_area
    assert episode_kind("permitted", on_leave=True) == AlertKind.outside_leave_destination


def test_an_opening_raises_and_continuing_adds_evidence(db, world, clock, settings):
    now = clock.now()
    [[alert_id]] = apply_facts(db, _subject(world), [_opened(now)], now=now, cfg=settings.alerts)
    alert = db.get(Alert, alert_id)
    assert (alert.kind, alert.cause, alert.evidence_count) == ("left_permitted_area", "fence:7:left_permitted_area", 1)
    touched = apply_facts(db, _subject(world), [EpisodeContinued(alert_id, [Evidence(t=now), Evidence(t=now)])],
                          now=now, cfg=settings.alerts)
    assert touched == [[alert_id]] and alert.evidence_count == 3
    db.flush()
    assert event_types(db, alert_id) == ["created", "evidence"]


def test_a_closed_episode_clears_unless_the_alert_has_another_open_one(db, world, clock, settings):
    now, cfg = clock.now(), settings.alerts
    [[alert_id]] = apply_facts(db, _subject(world), [_opened(now - timedelta(minutes=10))], now=now, cfg=cfg)
    # A new episode of the same fence opens in the batch that closes the old one:
    # it lands on the same alert, which must stay active.
    touched = apply_facts(db, _subject(world), [_opened(now), EpisodeClosed(alert_id, now, open_episodes=0)],
                          now=now, cfg=cfg)
    assert touched == [[alert_id], []] and db.get(Alert, alert_id).cleared_at is None
    touched = apply_facts(db, _subject(world), [EpisodeClosed(alert_id, now, open_episodes=0)], now=now, cfg=cfg)
    assert touched == [[alert_id]] and db.get(Alert, alert_id).cleared_at == now


def test_withdrawing_the_last_episode_resolves_an_untouched_alert(db, world, clock, settings):
    now, cfg = clock.now(), settings.alerts
    [[alert_id]] = apply_facts(db, _subject(world), [_opened(now)], now=now, cfg=cfg)
    apply_facts(db, _subject(world), [EpisodeWithdrawn(alert_id, now, episodes=1)], now=now, cfg=cfg)
    assert db.get(Alert, alert_id).state == "open"
    apply_facts(db, _subject(world), [EpisodeWithdrawn(alert_id, now, episodes=0)], now=now, cfg=cfg)
    alert = db.get(Alert, alert_id)
    assert (alert.state, alert.resolution, alert.resolved_by) == ("resolved", "withdrawn", None)
    db.flush()
    assert event_types(db, alert_id) == ["created", "episode_withdrawn", "episode_withdrawn", "resolved"]


def test_flagged_fixes_split_into_integrity_and_tamper(db, world, clock, settings):
    now = clock.now()
    fixes = [FlaggedFix(fix_id=1000 + i, t=now - timedelta(seconds=i), lon=118.9, lat=28.9, accuracy_m=5.0,
                        datum="wgs84", raw=None, flags=frozenset(flags))
             for i, flags in enumerate([{"mock"}, {"tamper"}, {"tamper", "speed"}])]
    [touched] = apply_facts(db, _subject(world), [FixesFlagged(device_id=42, fixes=fixes)], now=now,
                            cfg=settings.alerts)
    integrity, tamper = (db.get(Alert, i) for i in touched)
    # Every flag of the fixes concerned is listed, tamper too for a fix also flagged for speed.
    assert (integrity.cause, integrity.evidence_count) == ("integrity", 2)
    assert integrity.detail["flags"] == ["mock", "speed", "tamper"]
    assert (tamper.kind, tamper.cause, tamper.evidence_count) == ("device", "device:42:tamper", 2)
    assert tamper.occurred_at == now - timedelta(seconds=2)
