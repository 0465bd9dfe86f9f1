"""The monthly assessment (月度考核): a score and a grade from the month's record, confirmed by an officer.

``score_month`` is pure: 100, minus points per missed/failed check-in that
stands, per violation alert held, per obligation short, plus points per
表扬, kept within 0..100; 良好 / 合格 / 不合格 by the settings' thresholds,
and any sanction imposed that month is 不合格 whatever the score (DOMAIN).
The month-end job computes last month's row for everyone once (the unique
(supervisee, month) is the guard) and raises a shortfall alert per missing
obligation; an officer's confirmation recomputes it first, so hours entered
late still count, and then it is fixed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select

from alerts.models import Alert, AlertKind
from checkins.models import CheckinLedgerEntry
from core.localtime import LOCAL_TZ
from core.settings import SanctionSettings
from sanctions.models import Grade, ObligationEntry, ObligationKind, Sanction, SanctionKind, SanctionStatus
from supervision.models import Supervisee

VIOLATIONS = (AlertKind.left_permitted_area, AlertKind.entered_exclusion_zone, AlertKind.curfew_breach,
              AlertKind.outside_leave_destination, AlertKind.overdue_return)
NOT_HELD = ("false_alarm", "excused", "withdrawn")


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The local month starting ``month`` as [start, end) instants."""
    nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return (datetime(month.year, month.month, 1, tzinfo=LOCAL_TZ), datetime(nxt.year, nxt.month, 1, tzinfo=LOCAL_TZ))


def previous_month(now: datetime) -> date:
    local = now.astimezone(LOCAL_TZ).date()
    return date(local.year - (local.month == 1), (local.month - 2) % 12 + 1, 1)


def required_hours(cfg: SanctionSettings, tier: str, kind: str) -> float:
    return getattr(cfg, f"obligation_{kind}_hours_{tier}")


@dataclass
class MonthRecord:
    """What a month's assessment rests on, with the ids of the evidence."""

    tier: str
    checkins: list[int] = field(default_factory=list)  # ledger entries that stand
    violations: list[int] = field(default_factory=list)  # alert ids
    hours: dict[str, float] = field(default_factory=dict)  # kind -> entered
    sanctions: list[int] = field(default_factory=list)  # imposed sanctions (not praise)
    praises: list[int] = field(default_factory=list)
    # Whether the office kept the obligations ledger by this month: an office that never entered
    # hours (a new install, an upgrade) is not short of anything, or every person would fail at once.
    ledger_in_use: bool = True


def shortfalls(record: MonthRecord, cfg: SanctionSettings) -> dict[str, tuple[float, float]]:
    """kind -> (required, entered) for every obligation short."""
    out: dict[str, tuple[float, float]] = {}
    if not record.ledger_in_use:
        return out
    for kind in ObligationKind:
        need, got = required_hours(cfg, record.tier, kind), record.hours.get(kind, 0.0)
        if got < need:
            out[str(kind)] = (need, got)
    return out


def score_month(record: MonthRecord, cfg: SanctionSettings) -> tuple[float, Grade, dict]:
    """(score, grade, breakdown) of one month."""
    short = shortfalls(record, cfg)
    items = [
        {"name": "checkins", "points": -cfg.assessment_points_missed_checkin * len(record.checkins),
         "evidence": {"ledger": record.checkins}},
        {"name": "violations", "points": -cfg.assessment_points_violation * len(record.violations),
         "evidence": {"alerts": record.violations}},
        {"name": "obligations", "points": -cfg.assessment_points_shortfall * len(short),
         "evidence": {"short": {k: {"required": n, "entered": g} for k, (n, g) in short.items()},
                      "ledger_in_use": record.ledger_in_use}},
        {"name": "praise", "points": cfg.assessment_points_praise * len(record.praises),
         "evidence": {"sanctions": record.praises}},
    ]
    score = max(0.0, min(100.0, 100.0 + sum(i["points"] for i in items)))
    if record.sanctions:
        grade, forced = Grade.failed, {"rule": "a sanction this month", "sanctions": record.sanctions}
    else:
        grade = Grade.good if score >= cfg.assessment_good_score else \
            Grade.passed if score >= cfg.assessment_pass_score else Grade.failed
        forced = None
    return score, grade, {"items": items, "forced": forced}


def ledger_start(db, office_id: int) -> date | None:
    """The first month an office entered obligation hours for (None: it never has)."""
    return db.scalar(select(func.min(ObligationEntry.month)).where(ObligationEntry.office_id == office_id))


def load_record(db, sup: Supervisee, month: date, *, ledger_starts: dict[int, date | None] | None = None) -> MonthRecord:
    """The month's record of one supervisee, from the check-in ledger, the alerts, obligations and sanctions.

    ``ledger_starts`` caches ``ledger_start`` per office across one job round."""
    start, end = month_bounds(month)
    rec = MonthRecord(tier=sup.tier)
    starts = {} if ledger_starts is None else ledger_starts
    if sup.office_id not in starts:
        starts[sup.office_id] = ledger_start(db, sup.office_id)
    first = starts[sup.office_id]
    rec.ledger_in_use = first is not None and first <= month
    rec.checkins = list(db.scalars(select(CheckinLedgerEntry.id).where(
        CheckinLedgerEntry.supervisee_id == sup.id, CheckinLedgerEntry.created_at >= start,
        CheckinLedgerEntry.created_at < end,
        # An outage miss counts only if an officer confirmed it; any entry an officer overturned never does.
        ((CheckinLedgerEntry.kind != "missed_outage") | (CheckinLedgerEntry.decision == "confirmed")),
        CheckinLedgerEntry.decision.is_distinct_from("overturned")).order_by(CheckinLedgerEntry.id)))
    rec.violations = list(db.scalars(select(Alert.id).where(
        Alert.supervisee_id == sup.id, Alert.kind.in_(VIOLATIONS), Alert.occurred_at >= start, Alert.occurred_at < end,
        Alert.resolution.is_(None) | Alert.resolution.notin_(NOT_HELD)).order_by(Alert.id)))
    rec.hours = dict(db.execute(select(ObligationEntry.kind, func.sum(ObligationEntry.hours)).where(
        ObligationEntry.supervisee_id == sup.id, ObligationEntry.month == month).group_by(ObligationEntry.kind)).all())
    for sid, kind in db.execute(select(Sanction.id, Sanction.kind).where(
            Sanction.supervisee_id == sup.id, Sanction.status == SanctionStatus.imposed,
            Sanction.decided_at >= start, Sanction.decided_at < end).order_by(Sanction.id)):
        (rec.praises if kind == SanctionKind.praise else rec.sanctions).append(sid)
    return rec
