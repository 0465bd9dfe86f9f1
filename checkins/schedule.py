"""The check-in scheduler: plans, materialised occurrences, windows opening, windows judged.

One round (``run_schedule``, the "checkins" job) does four set-based steps,
each safe to run twice or in two processes at once:

1. ``ensure_plans``: every active supervisee has one plan in force, made for
   their tier and their office's policy. A tier or policy change ends the
   plan now and starts the next one from now: occurrences not yet open are
   cancelled, the open one stands (never retroactive). Unique index: one
   plan in force per supervisee.
2. ``materialise``: each plan's windows up to the end of the local day
   ``checkin_horizon_days`` ahead, so the supervisee and the officer see what
   is due. The slots of one rule are computed once and inserted for every
   plan with that rule in one statement; (plan, key) is unique and inserts
   are ON CONFLICT DO NOTHING. Random spot checks are drawn per plan and week.
3. ``open_windows``: scheduled → due when the window opens (one conditional
   UPDATE: a row changes once, whoever runs it).
4. ``judge_closed``: a window that closed without a check-in is missed. Rows
   are taken FOR UPDATE SKIP LOCKED and change state once, so the ledger entry
   and the alert are written once. Outage policy: if this job had not run for
   longer than ``checkin_outage_gap_seconds`` and the window closed after its
   previous run, the system was down when it closed (the supervisee may not
   have been able to check in): "missed_outage", an entry in the officers'
   review queue and no alert, so nothing is sanctioned on the system's fault.
"""
from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from alerts.facts import CheckinMissed, Subject
from alerts.intake import apply_facts
from checkins.models import CheckinLedgerEntry, CheckinOccurrence, LedgerKind, OccurrenceState
from checkins.plans import random_spot_slots, slots
from checkins.rules import CYCLE_EPOCH, cycle_anchor, expected_rules, office_policies, rule_from_json, rule_json
from core.jobs import JobContext, JobRun
from core.localtime import LOCAL_TZ
from core.settings import Settings
from supervision.models import Supervisee

JOB_NAME = "checkins"
JUDGE_BATCH = 5000
_RNG = random.SystemRandom()  # spot-check times must not be guessable


@dataclass
class RoundResult:
    plans_ended: int = 0
    plans_made: int = 0
    occurrences_made: int = 0
    opened: int = 0
    missed: int = 0
    missed_outage: int = 0
    alerts: int = 0


def ensure_plans(db: Session, *, now: datetime, settings: Settings) -> tuple[int, int]:
    """End plans that no longer fit (tier, policy, supervision ended) and make the missing ones. (ended, made)"""
    cfg = settings.checkins
    offices = list(db.scalars(select(Supervisee.office_id).where(Supervisee.status == "active").distinct()))
    expected = expected_rules(office_policies(db, offices, cfg), cfg)
    today = now.astimezone(LOCAL_TZ).date()
    keys = sorted(expected)
    params = {
        "now": now, "offices": [k[0] for k in keys], "tiers": [k[1] for k in keys],
        "rules": [json.dumps(rule_json(expected[k])) for k in keys],
        "kinds": [str(expected[k].kind) for k in keys],
        "anchors": [cycle_anchor(expected[k], today) for k in keys],
    }
    # MATERIALIZED: the unnest (and its jsonb casts) runs once, not once per supervisee row
    # of a nested loop (which made 100,000 plans take minutes).
    expected_cte = ("WITH expected AS MATERIALIZED (SELECT * FROM unnest(CAST(:offices AS bigint[]), CAST(:tiers AS text[]),"
                    " CAST(:rules AS jsonb[]), CAST(:kinds AS text[]), CAST(:anchors AS date[]))"
                    " AS e(office_id, tier, rule, kind, anchor)) ")
    ended = db.execute(text(
        expected_cte +
        "UPDATE checkin_plans p SET valid_to = :now FROM supervisees s"
        " LEFT JOIN expected e ON e.office_id = s.office_id AND e.tier = s.tier"
        " WHERE p.valid_to IS NULL AND s.id = p.supervisee_id"
        "  AND (s.status <> 'active' OR p.tier <> s.tier OR e.rule IS DISTINCT FROM p.rule) RETURNING p.id"),
        params).scalars().all()
    if ended:
        db.execute(text("UPDATE checkin_occurrences SET state = 'cancelled', judged_at = :now"
                        " WHERE plan_id = ANY(:ids) AND state = 'scheduled' AND opens_at > :now"),
                   {"ids": list(ended), "now": now})
    made = db.execute(text(
        expected_cte +
        "INSERT INTO checkin_plans (supervisee_id, kind, tier, rule, cycle_anchor, valid_from, valid_to,"
        " materialised_to, created_at)"
        " SELECT s.id, e.kind, s.tier, e.rule, e.anchor, :now, NULL, :now, :now FROM supervisees s"
        " JOIN expected e ON e.office_id = s.office_id AND e.tier = s.tier"
        # NOT IN (a hashed subplan, built once) rather than NOT EXISTS: planned on an empty
        # table, the anti join re-scanned the rows this very statement inserts (quadratic).
        " WHERE s.status = 'active' AND s.id NOT IN"
        "  (SELECT p.supervisee_id FROM checkin_plans p WHERE p.valid_to IS NULL)"
        " ON CONFLICT DO NOTHING"), params).rowcount
    return len(ended), made


def horizon_end(now: datetime, days: int) -> datetime:
    """Local midnight after ``now`` + ``days``: plans are extended once a day, not every round."""
    day = (now.astimezone(LOCAL_TZ) + timedelta(days=days)).date() + timedelta(days=1)
    return datetime.combine(day, time(0), LOCAL_TZ)


_INSERT_SLOTS = text(
    "INSERT INTO checkin_occurrences (plan_id, key, supervisee_id, office_id, kind, requires_face, opens_at,"
    " closes_at, state, created_at)"
    " SELECT p.id, s.key, p.supervisee_id, sup.office_id, s.kind, true, s.opens_at, s.closes_at, 'scheduled', :now"
    " FROM checkin_plans p JOIN supervisees sup ON sup.id = p.supervisee_id"
    " CROSS JOIN unnest(CAST(:keys AS text[]), CAST(:kinds AS text[]), CAST(:opens AS timestamptz[]),"
    "  CAST(:closes AS timestamptz[])) AS s(key, kind, opens_at, closes_at)"
    " WHERE p.valid_to IS NULL AND p.rule = CAST(:rule AS jsonb) AND p.cycle_anchor IS NOT DISTINCT FROM :anchor"
    "  AND p.materialised_to < :target AND s.opens_at >= greatest(p.valid_from, p.materialised_to)"
    "  AND s.opens_at < :target"
    " ON CONFLICT DO NOTHING")


def materialise(db: Session, *, now: datetime, settings: Settings) -> int:
    """Insert every plan's windows up to the horizon. Returns the occurrences made."""
    target = horizon_end(now, settings.checkins.checkin_horizon_days)
    groups = db.execute(text(
        "SELECT rule, cycle_anchor, min(greatest(valid_from, materialised_to)) FROM checkin_plans"
        " WHERE valid_to IS NULL AND materialised_to < :target GROUP BY rule, cycle_anchor"),
        {"target": target}).all()
    made = 0
    for rule_data, anchor, lower in groups:
        rule = rule_from_json(rule_data)
        # The group's anchor stands for every plan in it (same parity of the biweekly cycle);
        # other cadences need none (a plan's windows start at its valid_from, filtered in SQL).
        found = slots(rule, anchor=anchor or CYCLE_EPOCH, start=lower, end=target)
        params = {"now": now, "target": target, "rule": json.dumps(rule_data), "anchor": anchor,
                  "keys": [s.key for s in found], "kinds": [str(s.kind) for s in found],
                  "opens": [s.opens_at for s in found], "closes": [s.closes_at for s in found]}
        if found:
            made += db.execute(_INSERT_SLOTS, params).rowcount
        if rule.spot_per_week:
            made += _materialise_spots(db, rule_data, anchor, now=now, target=target)
        db.execute(text("UPDATE checkin_plans SET materialised_to = :target WHERE valid_to IS NULL"
                        " AND rule = CAST(:rule AS jsonb) AND cycle_anchor IS NOT DISTINCT FROM :anchor"
                        " AND materialised_to < :target"), params)
    return made


def _materialise_spots(db: Session, rule_data: dict, anchor, *, now: datetime, target: datetime) -> int:
    rule = rule_from_json(rule_data)
    plans = db.execute(text(
        "SELECT id, greatest(valid_from, materialised_to) FROM checkin_plans WHERE valid_to IS NULL"
        " AND rule = CAST(:rule AS jsonb) AND cycle_anchor IS NOT DISTINCT FROM :anchor AND materialised_to < :target"),
        {"rule": json.dumps(rule_data), "anchor": anchor, "target": target}).all()
    rows: dict[str, list] = defaultdict(list)
    for plan_id, lower in plans:
        monday = lower.astimezone(LOCAL_TZ).date()
        monday -= timedelta(days=monday.weekday())
        while datetime.combine(monday, time(0), LOCAL_TZ) < target:
            for s in random_spot_slots(rule, week_monday=monday, not_before=max(lower, now), rng=_RNG):
                rows["plan"].append(plan_id)
                rows["key"].append(s.key)
                rows["opens"].append(s.opens_at)
                rows["closes"].append(s.closes_at)
            monday += timedelta(days=7)
    if not rows:
        return 0
    return db.execute(text(
        "INSERT INTO checkin_occurrences (plan_id, key, supervisee_id, office_id, kind, requires_face, opens_at,"
        " closes_at, state, created_at)"
        " SELECT p.id, s.key, p.supervisee_id, sup.office_id, 'spot', true, s.opens_at, s.closes_at, 'scheduled', :now"
        " FROM unnest(CAST(:plans AS bigint[]), CAST(:keys AS text[]), CAST(:opens AS timestamptz[]),"
        "  CAST(:closes AS timestamptz[])) AS s(plan_id, key, opens_at, closes_at)"
        " JOIN checkin_plans p ON p.id = s.plan_id JOIN supervisees sup ON sup.id = p.supervisee_id"
        " ON CONFLICT DO NOTHING"),
        {"now": now, "plans": rows["plan"], "keys": rows["key"], "opens": rows["opens"],
         "closes": rows["closes"]}).rowcount


def open_windows(db: Session, *, now: datetime) -> int:
    """scheduled → due for every window open now. A row changes once, whoever runs this."""
    return db.execute(text(
        "UPDATE checkin_occurrences SET state = 'due', due_at = :now"
        " WHERE state = 'scheduled' AND opens_at <= :now AND closes_at > :now"), {"now": now}).rowcount


def previous_run(db: Session) -> datetime | None:
    """When this job last ran (inside a round: the previous round, the runner stores this one after)."""
    return db.scalar(select(JobRun.last_run_at).where(JobRun.name == JOB_NAME))


def judge_closed(db: Session, *, now: datetime, settings: Settings, last_run: datetime | None,
                 limit: int = JUDGE_BATCH) -> RoundResult:
    """Judge windows that closed without a check-in (oldest first); see the module's outage policy."""
    gap = timedelta(seconds=settings.checkins.checkin_outage_gap_seconds)
    down_since = last_run if last_run is not None and now - last_run > gap else None
    rows = db.scalars(
        select(CheckinOccurrence).where(CheckinOccurrence.state.in_([OccurrenceState.scheduled, OccurrenceState.due]),
                                        CheckinOccurrence.closes_at <= now)
        .order_by(CheckinOccurrence.closes_at, CheckinOccurrence.id).limit(limit).with_for_update(skip_locked=True)
    ).all()
    result = RoundResult()
    if not rows:
        return result
    tiers = dict(db.execute(select(Supervisee.id, Supervisee.tier).where(
        Supervisee.id.in_({o.supervisee_id for o in rows}))).all())
    streaks = MissStreaks.load(db, rows)
    for occ in rows:
        occ.judged_at = now
        if down_since is not None and occ.closes_at > down_since:
            occ.state = OccurrenceState.missed_outage
            db.add(CheckinLedgerEntry(occurrence_id=occ.id, supervisee_id=occ.supervisee_id, office_id=occ.office_id,
                                      kind=LedgerKind.missed_outage, outcome="missed, system outage", consecutive=0,
                                      created_at=now))
            result.missed_outage += 1
            continue
        occ.state = OccurrenceState.missed
        consecutive = streaks.miss(occ)
        subject = Subject(occ.supervisee_id, occ.office_id, tiers.get(occ.supervisee_id, "ordinary"))
        fact = CheckinMissed(occurrence_id=occ.id, kind=occ.kind, opens_at=occ.opens_at, closes_at=occ.closes_at,
                             consecutive=consecutive)
        [touched] = apply_facts(db, subject, [fact], now=now, cfg=settings.alerts)
        occ.alert_id = touched[0]
        db.add(CheckinLedgerEntry(occurrence_id=occ.id, supervisee_id=occ.supervisee_id, office_id=occ.office_id,
                                  kind=LedgerKind.missed, outcome="missed", consecutive=consecutive,
                                  alert_id=occ.alert_id, created_at=now))
        result.missed += 1
        result.alerts += len(touched)
    db.flush()
    return result


class MissStreaks:
    """Misses in a row per supervisee, for one batch of closed windows, from two queries.

    The streak before a window is decided by the supervisee's last window
    judged before it (submitted or missed; outage misses and cancelled windows
    are skipped): a miss continues its streak, a submission ends it. The batch
    is judged oldest first, so its own misses extend the streaks as they go.
    """

    def __init__(self, last: dict[int, tuple[datetime, int]], submitted: dict[int, list[datetime]]) -> None:
        self.last = last  # supervisee -> (closes_at of the last judged window, its streak: 0 if submitted)
        self.submitted = submitted  # supervisee -> closes_at of submissions within the batch's period

    @classmethod
    def load(cls, db: Session, batch: list[CheckinOccurrence]) -> MissStreaks:
        ids = sorted({o.supervisee_id for o in batch})
        first, last_close = min(o.closes_at for o in batch), max(o.closes_at for o in batch)
        before = db.execute(text(
            "SELECT DISTINCT ON (o.supervisee_id) o.supervisee_id, o.closes_at, o.state, l.consecutive"
            " FROM checkin_occurrences o LEFT JOIN checkin_ledger l ON l.occurrence_id = o.id AND l.kind = 'missed'"
            " WHERE o.supervisee_id = ANY(:ids) AND o.state IN ('submitted', 'missed') AND o.closes_at < :first"
            " ORDER BY o.supervisee_id, o.closes_at DESC, o.id DESC"), {"ids": ids, "first": first}).all()
        last = {sid: (t, (c or 1) if state == "missed" else 0) for sid, t, state, c in before}
        submitted: dict[int, list[datetime]] = defaultdict(list)
        for sid, t in db.execute(text(
                "SELECT supervisee_id, closes_at FROM checkin_occurrences WHERE supervisee_id = ANY(:ids)"
                " AND state = 'submitted' AND closes_at >= :first AND closes_at <= :last ORDER BY closes_at"),
                {"ids": ids, "first": first, "last": last_close}):
            submitted[sid].append(t)
        return cls(last, submitted)

    def miss(self, occ: CheckinOccurrence) -> int:
        """Record ``occ`` as missed; its streak, this miss included."""
        sid = occ.supervisee_id
        t, streak = self.last.get(sid, (None, 0))
        if any((t is None or s > t) and s <= occ.closes_at for s in self.submitted.get(sid, ())):
            streak = 0  # checked in since the last miss
        self.last[sid] = (occ.closes_at, streak + 1)
        return streak + 1


def run_schedule(job: JobContext) -> RoundResult:
    """One round of the scheduler (the "checkins" job); the runner commits."""
    db, now, settings = job.db, job.now, job.settings
    last = previous_run(db)
    ended, made = ensure_plans(db, now=now, settings=settings)
    occurrences = materialise(db, now=now, settings=settings)
    opened = open_windows(db, now=now)
    result = judge_closed(db, now=now, settings=settings, last_run=last)
    result.plans_ended, result.plans_made, result.occurrences_made, result.opened = ended, made, occurrences, opened
    if ended or made or result.missed or result.missed_outage:
        job.record("checkin.schedule", detail={
            "plans_ended": ended, "plans_made": made, "occurrences_made": occurrences, "opened": opened,
            "missed": result.missed, "missed_outage": result.missed_outage,
            "outage_since": last.isoformat() if last and result.missed_outage else None})
    return result
