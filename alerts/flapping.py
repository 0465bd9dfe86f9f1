"""Flapping: a cause that keeps re-opening is grouped, not re-sent.

A supervisee standing at a zone edge with a 60 m indoor fix "jumps" in and out;
each jump would otherwise be a new alert (after an officer resolves the last
one as a false alarm) or a cleared/active pair of events. Officers drown in
such floods, so per supervisee + cause we count *openings* (a new alert, or a
cleared alert becoming active again) in a one-hour window:

- the first opening and up to ``flap_limit_per_hour`` re-openings are normal;
- the next one is grouped: it lands on the most recent alert of that cause
  (re-opened if it was resolved: state open, ``reopen_count`` + 1, the old
  resolution kept as a system note) and sends one event marked
  ``flapping`` ("reopened", or "evidence" for a cleared alert);
- further openings in the same window change the rows but send nothing, and
  "cleared" events of the cause are held back too. The alert still escalates
  if nobody acknowledges it, so nothing is lost, only not repeated.

The window is fixed (starts at its first opening), which costs one upsert per
opening and never touches the per-fix path.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from alerts.models import Alert, AlertFlap, AlertNote
from alerts.outbox import emit

WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class FlapVerdict:
    openings: int  # in the current window, this one included
    grouped: bool  # past the limit: do not send as a new alert
    announce: bool  # the first grouped opening of the window: send one "flapping" event


def count_opening(db: Session, *, supervisee_id: int, cause: str, now: datetime, limit: int) -> FlapVerdict:
    """Count one opening of the cause and say whether it is past the limit."""
    # One statement, so two producers opening the same cause at once both count.
    row = db.execute(text(
        "INSERT INTO alert_flaps AS f (supervisee_id, cause, window_start, openings, announced)"
        " VALUES (:s, :c, :now, 1, false)"
        " ON CONFLICT (supervisee_id, cause) DO UPDATE SET"
        "  openings = CASE WHEN f.window_start <= :now - :w THEN 1 ELSE f.openings + 1 END,"
        "  announced = CASE WHEN f.window_start <= :now - :w THEN false ELSE f.announced END,"
        "  window_start = CASE WHEN f.window_start <= :now - :w THEN :now ELSE f.window_start END"
        " RETURNING openings, announced"), {"s": supervisee_id, "c": cause, "now": now, "w": WINDOW}).one()
    openings, announced = int(row[0]), bool(row[1])
    grouped = openings > limit + 1
    if grouped and not announced:
        db.execute(text("UPDATE alert_flaps SET announced = true WHERE supervisee_id = :s AND cause = :c"),
                   {"s": supervisee_id, "c": cause})
    return FlapVerdict(openings=openings, grouped=grouped, announce=grouped and not announced)


def is_grouped(db: Session, *, supervisee_id: int, cause: str, now: datetime) -> bool:
    """Is this cause flapping right now (its one flapping event already sent this window)?"""
    flap = db.get(AlertFlap, (supervisee_id, cause))
    return bool(flap and flap.announced and now - flap.window_start < WINDOW)


def reopen_latest(db: Session, *, supervisee_id: int, cause: str, now: datetime, verdict: FlapVerdict) -> Alert | None:
    """Re-open the most recent (resolved) alert of the cause; None if there is none."""
    alert = db.scalar(select(Alert).where(Alert.supervisee_id == supervisee_id, Alert.cause == cause)
                      .order_by(Alert.id.desc()).limit(1).with_for_update())
    if alert is None:
        return None
    # Keep who resolved it and why: the row's resolution fields are reset below.
    db.add(AlertNote(alert_id=alert.id, author_id=None, created_at=now, body=(
        f"re-opened automatically: the cause occurred {verdict.openings} times within an hour (flapping); "
        f"previous resolution {alert.resolution} by user {alert.resolved_by} at "
        f"{alert.resolved_at.isoformat() if alert.resolved_at else '?'}: {alert.resolution_note or ''}")))
    alert.state = "open"
    alert.acknowledged_at = alert.acknowledged_by = None
    alert.resolved_at = alert.resolved_by = None
    alert.resolution = alert.resolution_note = None
    alert.cleared_at = None
    alert.reopen_count = (alert.reopen_count or 0) + 1
    # Escalation counts from here; the level is kept, so a flapping cause that
    # already reached the managers does not re-escalate from zero each time.
    alert.reopened_at = now
    if verdict.announce:
        emit(db, alert, "reopened", now, {"flapping": True, "openings_this_hour": verdict.openings})
    return alert
