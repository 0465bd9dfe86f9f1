"""The scheduler on the injectable clock: three months of plans per tier with tier changes,
windows opening and closing at local times, misses → alerts, outage catch-up."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from alerts.models import Alert
from checkins.models import CheckinLedgerEntry, CheckinOccurrence, CheckinPlan
from checkins.schedule import judge_closed
from core.localtime import LOCAL_TZ
from tests.checkins.helpers import occurrences, run_for, tick

START = datetime(2026, 1, 5, 0, 0, tzinfo=LOCAL_TZ)  # a Monday, local midnight


def test_three_months_of_plans_per_tier_with_tier_changes(db, world, job, settings):
    settings.checkins.checkin_outage_gap_seconds = 86400  # rounds 6 h apart are not an outage here
    a, a2, b = world.supervisees["a"], world.supervisees["a2"], world.supervisees["b"]
    a.tier, a2.tier, b.tier = "strict", "ordinary", "lenient"
    db.flush()
    change_a = START + timedelta(days=30, hours=12)  # strict → ordinary, Wed 4 Feb 12:00
    change_b = START + timedelta(days=59, hours=12)  # lenient → strict, Thu 5 Mar 12:00
    end = START + timedelta(days=91)
    run_for(db, job, START, change_a, timedelta(hours=6))
    a.tier = "ordinary"
    db.flush()
    run_for(db, job, change_a, change_b, timedelta(hours=6))
    b.tier = "strict"
    db.flush()
    run_for(db, job, change_b, end, timedelta(hours=6))

    def kinds(sid, lo, hi):
        return Counter(o.kind for o in occurrences(db, sid) if lo <= o.opens_at < hi and o.state != "cancelled")

    # a: strict for 30 days: a daily window each day, a 报到 each Monday, 2 spot checks a week
    first = kinds(a.id, START, change_a)
    assert first["daily"] == 31 and first["report"] == 5 and first["spot"] >= 8
    # then ordinary: a 报到 every two weeks from the first Monday after the change, nothing daily
    later = [o for o in occurrences(db, a.id) if o.opens_at >= change_a and o.state != "cancelled"]
    assert {o.kind for o in later if o.opens_at < end} == {"report"}
    days = [o.opens_at.astimezone(LOCAL_TZ).date() for o in later if o.opens_at < end]
    assert days[:4] == [date(2026, 2, 9), date(2026, 2, 23), date(2026, 3, 9), date(2026, 3, 23)]
    # never retroactive: the strict windows already open stood; those not yet open were cancelled
    cancelled = [o for o in occurrences(db, a.id) if o.state == "cancelled"]
    assert cancelled and all(o.opens_at > change_a for o in cancelled)
    assert all(o.state == "missed" for o in occurrences(db, a.id) if o.closes_at <= change_a)
    # a2: ordinary all along: the 报到 every other Monday
    days = [o.opens_at.astimezone(LOCAL_TZ).date() for o in occurrences(db, a2.id) if o.opens_at < end]
    assert days == [date(2026, 1, 5) + timedelta(days=14 * k) for k in range(7)]
    assert all(o.opens_at.astimezone(LOCAL_TZ).hour == 9 for o in occurrences(db, a2.id))
    # b: lenient (first Monday of Feb and Mar; 5 Jan's window had opened before its plan existed), then strict
    assert [o.opens_at.astimezone(LOCAL_TZ).date() for o in occurrences(db, b.id) if o.opens_at < change_b] == [
        date(2026, 1, 5), date(2026, 2, 2), date(2026, 3, 2)]
    after = kinds(b.id, change_b, end)
    assert after["daily"] == 31 and after["report"] >= 4
    # one plan in force each, the earlier ones ended at the change
    plans = {sid: list(db.scalars(select(CheckinPlan).where(CheckinPlan.supervisee_id == sid)
                                  .order_by(CheckinPlan.valid_from))) for sid in (a.id, b.id)}
    assert [(p.tier, p.valid_to) for p in plans[a.id]] == [("strict", change_a), ("ordinary", None)]
    assert [(p.tier, p.valid_to) for p in plans[b.id]] == [("lenient", change_b), ("strict", None)]
    # every key once per plan
    dup = db.execute(select(CheckinOccurrence.plan_id, CheckinOccurrence.key, func.count())
                     .group_by(CheckinOccurrence.plan_id, CheckinOccurrence.key).having(func.count() > 1)).all()
    assert dup == []


def test_window_opens_and_closes_at_local_times_across_midnight(db, world, job, settings):
    settings.checkins.checkin_fixed_windows = ["23:30-00:30"]
    from checkins.models import CheckinPolicy

    db.add(CheckinPolicy(jurisdiction_id=world.office_a.id, plan="fixed_windows"))
    db.flush()
    sid = world.supervisees["a"].id
    tick(db, job, START)
    occ = next(o for o in occurrences(db, sid) if o.opens_at.astimezone(LOCAL_TZ).date() == date(2026, 1, 5))
    assert occ.kind == "window" and occ.opens_at == datetime(2026, 1, 5, 15, 30, tzinfo=UTC)
    assert occ.closes_at == datetime(2026, 1, 6, 0, 30, tzinfo=LOCAL_TZ)
    edge = occ.opens_at
    tick(db, job, edge - timedelta(seconds=1))
    db.refresh(occ)
    assert occ.state == "scheduled"
    tick(db, job, edge)
    db.refresh(occ)
    assert occ.state == "due" and occ.due_at == edge
    tick(db, job, occ.closes_at - timedelta(seconds=1))  # 00:29:59 the next local day: still open
    db.refresh(occ)
    assert occ.state == "due"
    tick(db, job, occ.closes_at)
    db.refresh(occ)
    assert occ.state == "missed" and occ.alert_id is not None


def test_missed_raises_an_alert_and_the_second_miss_in_a_row_is_more_severe(db, world, job, settings):
    settings.checkins.checkin_outage_gap_seconds = 7200  # rounds 30 min apart are not an outage
    settings.checkins.checkin_spot_per_week_strict = 0
    world.supervisees["a"].tier = "strict"
    db.flush()
    sid = world.supervisees["a"].id
    run_for(db, job, START, START + timedelta(days=2, hours=12), timedelta(minutes=30))
    missed = [o for o in occurrences(db, sid) if o.state == "missed" and o.kind == "daily"]
    assert len(missed) >= 2
    alerts = [db.get(Alert, o.alert_id) for o in missed[:2]]
    assert [a.kind for a in alerts] == ["missed_checkin", "missed_checkin"]
    assert alerts[0].severity == "high" and alerts[1].severity == "critical"  # strict: medium + 1, then + 1 again
    ledger = {e.occurrence_id: e for e in db.scalars(select(CheckinLedgerEntry).where(
        CheckinLedgerEntry.supervisee_id == sid))}
    assert ledger[missed[0].id].kind == "missed" and ledger[missed[1].id].consecutive >= 2
    # judging again changes nothing: one alert per occurrence
    before = db.scalar(select(func.count()).select_from(Alert).where(Alert.supervisee_id == sid))
    judge_closed(db, now=START + timedelta(days=3), settings=job().settings, last_run=None)
    tick(db, job, START + timedelta(days=2, hours=12))
    assert db.scalar(select(func.count()).select_from(Alert).where(Alert.supervisee_id == sid)) == before


def test_window_closed_during_an_outage_goes_to_an_officer_not_an_alert(db, world, job, settings):
    settings.checkins.checkin_outage_gap_seconds = 7200  # rounds 30 min apart are not an outage; 4 h are
    settings.checkins.checkin_spot_per_week_strict = 0
    world.supervisees["a"].tier = "strict"
    db.flush()
    sid = world.supervisees["a"].id
    tick(db, job, START)  # plans made, windows materialised
    tick(db, job, START + timedelta(hours=8))  # 08:00: the last run before the outage
    # down from 08:00 until 12:00: the 09:00-11:00 window closed during the outage
    tick(db, job, START + timedelta(hours=12))
    occ = next(o for o in occurrences(db, sid) if o.kind == "daily")
    assert occ.state == "missed_outage" and occ.alert_id is None
    entry = db.scalar(select(CheckinLedgerEntry).where(CheckinLedgerEntry.occurrence_id == occ.id))
    assert entry.kind == "missed_outage" and entry.decision is None  # waits in the review queue
    assert db.scalar(select(func.count()).select_from(Alert).where(Alert.supervisee_id == sid,
                                                                   Alert.kind == "missed_checkin")) == 0
    # back up: the 报到 window (09:00-17:00) closes after the outage ended, so a miss is a miss
    run_for(db, job, START + timedelta(hours=12), START + timedelta(days=1, hours=12), timedelta(minutes=30))
    report = next(o for o in occurrences(db, sid) if o.kind == "report")
    assert report.state == "missed" and report.alert_id is not None
    # the outage miss neither counted nor broke the run: the 报到 is the first real miss, the next day's second
    nxt = [o for o in occurrences(db, sid) if o.kind == "daily"][1]
    assert [db.scalar(select(CheckinLedgerEntry.consecutive).where(CheckinLedgerEntry.occurrence_id == o.id))
            for o in (report, nxt)] == [1, 2]


def test_a_miss_while_out_of_contact_joins_the_lost_contact_escalation(db, world, job, settings):
    from alerts.facts import SignalLost, Subject
    from alerts.intake import apply_facts
    from alerts.models import AlertEvent

    settings.checkins.checkin_outage_gap_seconds = 7200
    settings.checkins.checkin_spot_per_week_strict = 0
    sup = world.supervisees["a"]
    sup.tier = "lenient"  # missed_checkin is low for lenient: the lost contact lifts it
    db.flush()
    tick(db, job, START)
    [[lost_id]] = apply_facts(db, Subject(sup.id, sup.office_id, sup.tier),
                              [SignalLost(last_fix_at=START, limit_minutes=360, tier="lenient")],
                              now=START + timedelta(hours=6), cfg=settings.alerts)
    lost = db.get(Alert, lost_id)
    level = lost.escalation_level
    run_for(db, job, START + timedelta(hours=6), START + timedelta(hours=18), timedelta(minutes=30))
    report = next(o for o in occurrences(db, sup.id) if o.kind == "report")  # 5 Jan, the first Monday
    assert report.state == "missed"
    missed = db.get(Alert, report.alert_id)
    assert missed.severity == "high" and missed.detail["lost_contact_alert_id"] == lost_id
    db.refresh(lost)
    assert lost.escalation_level == level + 1 and lost.evidence_count >= 1
    reasons = [e.payload.get("reason") for e in db.scalars(select(AlertEvent).where(
        AlertEvent.alert_id == lost_id, AlertEvent.type == "escalated"))]
    assert "missed_checkin" in reasons
