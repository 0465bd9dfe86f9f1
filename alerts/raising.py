"""Raising alerts: open, add evidence, clear, withdraw. Producers reach these
through ``alerts.intake.apply_facts`` (ingest, the silence job) or call them
directly from above (leave).

Called inside the producer's transaction, so an alert commits together with
what caused it. One unresolved alert per supervisee + cause: a repeat adds
evidence to it (and an "evidence" event) instead of a new alert. Every change
writes an outbox event; nothing is published before commit.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import flapping, hooks
from alerts.escalation import escalate_alert
from alerts.facts import Evidence
from alerts.models import Alert, AlertEvidence, AlertKind, Severity
from alerts.outbox import emit

# Default severity by kind, raised one step for strict-tier supervisees.
BASE_SEVERITY = {
    AlertKind.left_permitted_area: Severity.high,
    AlertKind.entered_exclusion_zone: Severity.critical,
    AlertKind.curfew_breach: Severity.medium,
    AlertKind.outside_leave_destination: Severity.high,
    AlertKind.overdue_return: Severity.high,
    AlertKind.signal_lost: Severity.medium,
    AlertKind.device: Severity.low,
    AlertKind.integrity: Severity.medium,
    AlertKind.missed_checkin: Severity.medium,
    AlertKind.notice: Severity.low,
    AlertKind.term_ending: Severity.low,
    AlertKind.obligation_shortfall: Severity.low,
}
_ORDER = [Severity.low, Severity.medium, Severity.high, Severity.critical]


def step_up(severity: Severity | str) -> Severity:
    """One severity higher (critical stays critical)."""
    i = _ORDER.index(Severity(severity))
    return _ORDER[min(i + 1, len(_ORDER) - 1)]


def at_least(severity: Severity | str, floor: Severity) -> Severity:
    """``severity``, raised to ``floor`` if lower."""
    return max(Severity(severity), floor, key=_ORDER.index)


def default_severity(kind: AlertKind | str, tier: str) -> Severity:
    base = BASE_SEVERITY[AlertKind(kind)]
    if tier == "strict":
        return _ORDER[min(_ORDER.index(base) + 1, len(_ORDER) - 1)]
    if tier == "lenient" and base in (Severity.medium, Severity.high):
        return _ORDER[_ORDER.index(base) - 1]
    return base


def raise_alert(
    db: Session,
    *,
    now: datetime,
    supervisee_id: int,
    office_id: int,
    tier: str,
    kind: AlertKind | str,
    cause: str,
    title: str,
    occurred_at: datetime,
    flap_limit: int,
    evidence: list[Evidence] = (),  # type: ignore[assignment]
    detail: dict[str, Any] | None = None,
    fence_id: int | None = None,
    fence_version: int | None = None,
    severity: Severity | str | None = None,
) -> tuple[Alert, bool]:
    """Open an alert for this cause, or add evidence to the unresolved one. Returns (alert, created).

    A cause that keeps re-opening (see alerts.flapping) more than ``flap_limit``
    times an hour (``settings.alerts.flap_limit_per_hour``) is grouped onto its
    latest alert instead of being sent again; then ``created`` is False.
    """
    limit = flap_limit
    alert = db.scalar(
        select(Alert).where(Alert.supervisee_id == supervisee_id, Alert.cause == cause, Alert.state != "resolved")
        .with_for_update()
    )
    if alert is None:
        verdict = flapping.count_opening(db, supervisee_id=supervisee_id, cause=cause, now=now, limit=limit)
        if verdict.grouped:
            latest = flapping.reopen_latest(db, supervisee_id=supervisee_id, cause=cause, now=now, verdict=verdict)
            if latest is not None:
                add_evidence(db, latest, evidence, now=now, announce=False)
                return latest, False
        alert = Alert(
            supervisee_id=supervisee_id, office_id=office_id, kind=str(kind), cause=cause,
            severity=str(severity or default_severity(kind, tier)), state="open", title=title, detail=detail or {},
            fence_id=fence_id, fence_version=fence_version, occurred_at=occurred_at, created_at=now,
            evidence_count=0, escalation_level=0, reopen_count=0,
        )
        db.add(alert)
        db.flush()
        add_evidence(db, alert, evidence, now=now, announce=False)
        hooks.run_created(db, alert, evidence, now)
        emit(db, alert, "created", now)
        if alert.kind == AlertKind.signal_lost:
            # Law art. 30: lost contact means a search starts at once, so the
            # managers hear of it now rather than at the next escalation run.
            escalate_alert(db, alert, now=now, reason="lost_contact")
        return alert, True
    announce = True
    if alert.cleared_at is not None:
        # The condition is back after it had ended: a re-opening for flap counting.
        alert.cleared_at = None
        verdict = flapping.count_opening(db, supervisee_id=supervisee_id, cause=cause, now=now, limit=limit)
        if verdict.grouped:
            alert.reopen_count = (alert.reopen_count or 0) + 1
            announce = False
            if verdict.announce and evidence:
                add_evidence(db, alert, evidence, now=now, announce=False)
                emit(db, alert, "evidence", now, {"added": len(evidence), "flapping": True,
                                                  "openings_this_hour": verdict.openings})
                evidence = []
    if detail:
        alert.detail = {**(alert.detail or {}), **detail}
    add_evidence(db, alert, evidence, now=now, announce=announce)
    return alert, False


def add_evidence(db: Session, alert: Alert, evidence: list[Evidence], *, now: datetime, announce: bool = True) -> None:
    if not evidence:
        return
    for ev in evidence:
        db.add(AlertEvidence(alert_id=alert.id, fix_id=ev.fix_id, t=ev.t, lon=ev.lon, lat=ev.lat,
                             accuracy_m=ev.accuracy_m, datum=ev.datum, raw=ev.raw, distance_m=ev.distance_m,
                             detail=ev.detail, added_at=now))
    alert.evidence_count = (alert.evidence_count or 0) + len(evidence)
    latest = max((ev.t for ev in evidence if ev.t is not None), default=None)
    if latest and (alert.last_evidence_at is None or latest > alert.last_evidence_at):
        alert.last_evidence_at = latest
    if announce:
        emit(db, alert, "evidence", now, {"added": len(evidence)})


def clear_alert(db: Session, alert: Alert, *, now: datetime, cleared_at: datetime, reason: str) -> None:
    """The condition ended (e.g. back inside). The alert stays for officers to resolve."""
    if alert.state == "resolved" or alert.cleared_at is not None:
        return
    alert.cleared_at = cleared_at
    if not flapping.is_grouped(db, supervisee_id=alert.supervisee_id, cause=alert.cause, now=now):
        emit(db, alert, "cleared", now, {"reason": reason})


def withdraw_episode(db: Session, alert: Alert, *, now: datetime, opened_at: datetime, last: bool) -> None:
    """Late data disproved one episode of ``alert``; resolve it as withdrawn if that was its ``last`` one."""
    emit(db, alert, "episode_withdrawn", now, {"episode_opened_at": opened_at.isoformat()})
    # Only an untouched alert is closed by the system; once an officer
    # has acknowledged it, the decision stays with people.
    if last and alert.state == "open":
        alert.state, alert.resolution, alert.resolved_at = "resolved", "withdrawn", now
        alert.resolution_note = "late fixes showed the violation did not persist"
        emit(db, alert, "resolved", now, {"reason": "withdrawn"})
