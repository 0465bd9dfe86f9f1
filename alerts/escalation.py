"""Escalation of alerts nobody acknowledges, to the managers of the bureau.

An open (unacknowledged) alert escalates one level when its period has passed
since it was created, re-opened or last escalated: ``escalate_high_minutes``
(default 10) for high/critical severity and for lost contact,
``escalate_other_minutes`` (default 30) otherwise, up to ``escalate_max_level``.
Each step writes an "escalated" outbox event whose payload says
``escalated_to: "managers"`` and the ``bureau_id``, which the hub uses to route
it to that bureau's managers.

Lost contact (``signal_lost``, Law art. 30) escalates at once: raise_alert
escalates it to level 1 in the transaction that creates it. ``escalate_due``
also treats a level-0 signal_lost alert as due immediately, so one created by
any other path is escalated on the job's next run.

``escalate_due`` is pure database work in the caller's transaction; the job
runner (core/jobs.py) owns the commit and runs it every
``escalation_interval_seconds``.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Interval, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from alerts.models import Alert, AlertEvent, AlertKind, AlertState, Severity
from alerts.outbox import emit
from core.settings import Settings
from supervision.models import Jurisdiction, JurisdictionLevel

BATCH = 500


def ancestor_ids(db: Session, office_id: int) -> list[tuple[int, str]]:
    """(id, level) of the office and every jurisdiction above it, nearest first."""
    path = db.scalar(select(Jurisdiction.path).where(Jurisdiction.id == office_id))
    if not path:
        return []
    # "1/5/12/" -> "1/", "1/5/", "1/5/12/": an exact-match IN on indexed paths.
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    rows = db.execute(select(Jurisdiction.id, Jurisdiction.level, Jurisdiction.path)
                      .where(Jurisdiction.path.in_(prefixes))).all()
    return [(r.id, r.level) for r in sorted(rows, key=lambda r: len(r.path), reverse=True)]


def bureau_id_of(db: Session, office_id: int) -> int | None:
    """The district bureau above (or at) an office: whose managers hear escalations."""
    return next((jid for jid, level in ancestor_ids(db, office_id) if level == JurisdictionLevel.bureau), None)


def escalate_alert(db: Session, alert: Alert, *, now: datetime, reason: str) -> AlertEvent:
    """Raise the alert one level and write the "escalated" event."""
    alert.escalation_level = (alert.escalation_level or 0) + 1
    alert.escalated_at = now
    extra: dict[str, Any] = {"escalated_to": "managers", "bureau_id": bureau_id_of(db, alert.office_id),
                             "level": alert.escalation_level, "reason": reason}
    return emit(db, alert, "escalated", now, extra)


def escalate_due(db: Session, *, now: datetime, settings: Settings) -> list[int]:
    """Escalate every open alert whose period has passed; returns their ids (caller commits)."""
    cfg = settings.alerts
    high = literal(timedelta(minutes=cfg.escalate_high_minutes), Interval)
    other = literal(timedelta(minutes=cfg.escalate_other_minutes), Interval)
    lost = Alert.kind == AlertKind.signal_lost
    period = case(
        (and_(lost, Alert.escalation_level == 0), literal(timedelta(0), Interval)),
        (or_(lost, Alert.severity.in_([Severity.high, Severity.critical])), high),
        else_=other,
    )
    # GREATEST ignores NULLs: the clock restarts at creation, re-opening or the last escalation.
    since = func.greatest(Alert.created_at, Alert.reopened_at, Alert.escalated_at)
    # SKIP LOCKED: two processes running the job never escalate the same alert
    # twice, and an officer acknowledging it right now (row locked) wins.
    due = list(db.scalars(
        # A notice (an order about to lapse) informs the officer; it is not a violation to escalate.
        select(Alert).where(Alert.state == AlertState.open, Alert.escalation_level < cfg.escalate_max_level,
                            Alert.kind != AlertKind.notice, since + period <= now)
        .order_by(Alert.id).limit(BATCH).with_for_update(skip_locked=True)))
    for alert in due:
        first_lost = alert.kind == AlertKind.signal_lost and alert.escalation_level == 0
        reason = "lost_contact" if first_lost else "unacknowledged"
        escalate_alert(db, alert, now=now, reason=reason)
    db.flush()
    return [a.id for a in due]
