"""The alert lifecycle as officers drive it: read, acknowledge, assign, note, resolve.

States go open -> acknowledged -> resolved, each step with who and when.
Resolving an open alert directly is allowed (a false alarm seen at a glance)
and records the resolver as the acknowledger too, so every resolved alert
says who saw it first. Every action writes an outbox event (outbox.emit)
and an audit row; reads are audited because alerts carry location evidence.
Functions flush, never commit: the route owns the transaction. A refusal
(404, 409, 422) is raised before anything changes, so the route may commit
the refusal's audit row safely.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from alerts.models import Alert, AlertEvidence, AlertNote, AlertState
from alerts.outbox import emit
from alerts.schemas import AlertDetail, AlertOut, EvidenceOut, NoteOut
from alerts.scope import alert_clause
from core.basis import ORDINARY, fix_purposes, record_location_read
from core.context import Ctx
from core.errors import Conflict, Invalid, NotFound
from supervision.models import Jurisdiction, Role, User
from core.schemas import Page
from supervision.scope import STAFF_READERS, require_role

ACTORS = {Role.officer, Role.manager}  # auditors read, never act
MAX_EVIDENCE = 500


def _load(ctx: Ctx, alert_id: int, action: str, *, lock: bool) -> Alert:
    require_role(ctx.principal, ACTORS if lock else STAFF_READERS, "act on alerts" if lock else "read alerts")
    query = select(Alert).where(Alert.id == alert_id, alert_clause(ctx.principal))
    # Row lock: concurrent acknowledge/resolve (or the escalation job) serialise here.
    alert = ctx.db.scalar(query.with_for_update(of=Alert) if lock else query)
    if alert is None:
        ctx.record(action, "alert", alert_id, outcome="not_found")
        raise NotFound()
    return alert


def _refuse(ctx: Ctx, alert: Alert, action: str, message: str) -> None:
    ctx.record(action, "alert", alert.id, outcome="conflict", detail={"state": alert.state})
    raise Conflict(message)


def _who_when(user_id: int | None, at: datetime | None) -> str:
    return f"by user {user_id} at {at.isoformat() if at else '?'}"


def list_alerts(*, ctx: Ctx, limit: int, offset: int, state: str | None = None, kind: str | None = None,
                office_id: int | None = None, supervisee_id: int | None = None,
                since: datetime | None = None, until: datetime | None = None) -> Page[AlertOut]:
    """Alerts in the caller's scope, newest first."""
    require_role(ctx.principal, STAFF_READERS, "read alerts")
    if since is not None and until is not None and until < since:
        raise Invalid("until must not be before since", field="query.until")
    where = [alert_clause(ctx.principal)]
    for column, value in ((Alert.state, state), (Alert.kind, kind), (Alert.office_id, office_id),
                          (Alert.supervisee_id, supervisee_id)):
        if value is not None:
            where.append(column == value)
    if since is not None:
        where.append(Alert.created_at >= since)
    if until is not None:
        where.append(Alert.created_at < until)
    total = ctx.db.scalar(select(func.count()).select_from(Alert).where(*where)) or 0
    rows = list(ctx.db.scalars(select(Alert).where(*where).order_by(Alert.created_at.desc(), Alert.id.desc())
                               .limit(limit).offset(offset)))
    ctx.record("alert.list", "alert", None, detail={"ids": [r.id for r in rows], "offset": offset})
    return Page(items=[AlertOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)


def _evidence(ctx: Ctx, alert: Alert) -> list[AlertEvidence]:
    return list(ctx.db.scalars(select(AlertEvidence).where(AlertEvidence.alert_id == alert.id)
                               .order_by(AlertEvidence.t.desc().nulls_last(), AlertEvidence.id.desc())
                               .limit(MAX_EVIDENCE)))


def evidence_basis(ctx: Ctx, evidence: list[AlertEvidence]) -> list[str]:
    """The legal bases of an alert's location evidence: its fixes' purposes; a located
    point without a fix is a check-in's place, taken under the ordinary check."""
    bases = fix_purposes(ctx.db, [e.fix_id for e in evidence if e.fix_id is not None])
    if any(e.fix_id is None and e.lon is not None for e in evidence):
        bases.append(ORDINARY)
    return bases


def _detail(ctx: Ctx, alert: Alert, evidence: list[AlertEvidence] | None = None) -> AlertDetail:
    if evidence is None:
        evidence = _evidence(ctx, alert)
    notes = ctx.db.scalars(select(AlertNote).where(AlertNote.alert_id == alert.id)
                           .order_by(AlertNote.created_at, AlertNote.id))
    base = AlertOut.model_validate(alert).model_dump()
    return AlertDetail(**base, evidence=[EvidenceOut.model_validate(e) for e in evidence],
                       notes=[NoteOut.model_validate(n) for n in notes])


def get_alert(*, ctx: Ctx, alert_id: int) -> AlertDetail:
    """One alert with its evidence (location) and notes; the read is audited."""
    alert = _load(ctx, alert_id, "alert.read", lock=False)
    evidence = _evidence(ctx, alert)
    record_location_read(ctx, "alert.read", "alert", alert.id, purposes=evidence_basis(ctx, evidence),
                         detail={"supervisee_id": alert.supervisee_id})
    return _detail(ctx, alert, evidence)


def acknowledge(*, ctx: Ctx, alert_id: int) -> AlertOut:
    alert = _load(ctx, alert_id, "alert.acknowledge", lock=True)
    if alert.state == AlertState.acknowledged:
        _refuse(ctx, alert, "alert.acknowledge", f"alert {alert.id} is already acknowledged "
                + _who_when(alert.acknowledged_by, alert.acknowledged_at))
    if alert.state == AlertState.resolved:
        _refuse(ctx, alert, "alert.acknowledge", f"alert {alert.id} is resolved ({alert.resolution}) "
                + _who_when(alert.resolved_by, alert.resolved_at) + "; a resolved alert cannot be acknowledged")
    now = ctx.clock.now()
    alert.state, alert.acknowledged_at, alert.acknowledged_by = AlertState.acknowledged, now, ctx.principal.user_id
    emit(ctx.db, alert, "acknowledged", now, {"by": ctx.principal.user_id})
    ctx.record("alert.acknowledge", "alert", alert.id, detail={"escalation_level": alert.escalation_level})
    ctx.db.flush()
    return AlertOut.model_validate(alert)


def _check_assignee(ctx: Ctx, alert: Alert, officer_id: int) -> None:
    row = ctx.db.execute(select(User.role, User.active, Jurisdiction.path)
                         .join(Jurisdiction, Jurisdiction.id == User.jurisdiction_id)
                         .where(User.id == officer_id)).first()
    office_path = ctx.db.scalar(select(Jurisdiction.path).where(Jurisdiction.id == alert.office_id)) or ""
    # Covers = the assignee's jurisdiction is the alert's office or above it.
    if row is None or row.role not in ACTORS or not row.active or not office_path.startswith(row.path):
        raise Invalid("officer_id must name an active officer or manager whose jurisdiction covers the alert's office",
                      field="officer_id")


def assign(*, ctx: Ctx, alert_id: int, officer_id: int) -> AlertOut:
    alert = _load(ctx, alert_id, "alert.assign", lock=True)
    if alert.state == AlertState.resolved:
        _refuse(ctx, alert, "alert.assign", f"alert {alert.id} is resolved "
                + _who_when(alert.resolved_by, alert.resolved_at) + "; it cannot be assigned")
    _check_assignee(ctx, alert, officer_id)
    now = ctx.clock.now()
    previous, alert.assigned_to = alert.assigned_to, officer_id
    emit(ctx.db, alert, "assigned", now, {"by": ctx.principal.user_id, "assigned_to": officer_id,
                                          "previous": previous})
    ctx.record("alert.assign", "alert", alert.id, detail={"assigned_to": officer_id, "previous": previous})
    ctx.db.flush()
    return AlertOut.model_validate(alert)


def add_note(*, ctx: Ctx, alert_id: int, body: str) -> NoteOut:
    """Notes can be added in any state, also after resolution."""
    alert = _load(ctx, alert_id, "alert.note", lock=True)
    now = ctx.clock.now()
    note = AlertNote(alert_id=alert.id, author_id=ctx.principal.user_id, body=body, created_at=now)
    ctx.db.add(note)
    ctx.db.flush()
    # The body stays out of the event: webhooks leave the system, notes may be sensitive.
    emit(ctx.db, alert, "note", now, {"note_id": note.id, "author_id": ctx.principal.user_id})
    ctx.record("alert.note", "alert", alert.id, detail={"note_id": note.id})
    ctx.db.flush()
    return NoteOut.model_validate(note)


def resolve(*, ctx: Ctx, alert_id: int, reason: str, note: str) -> AlertOut:
    alert = _load(ctx, alert_id, "alert.resolve", lock=True)
    if alert.state == AlertState.resolved:
        _refuse(ctx, alert, "alert.resolve", f"alert {alert.id} is already resolved ({alert.resolution}) "
                + _who_when(alert.resolved_by, alert.resolved_at))
    if not note.strip():
        raise Invalid("a resolution needs a note", field="note")
    now, user_id = ctx.clock.now(), ctx.principal.user_id
    if alert.state == AlertState.open:
        alert.acknowledged_at, alert.acknowledged_by = now, user_id
    alert.state, alert.resolved_at, alert.resolved_by = AlertState.resolved, now, user_id
    alert.resolution, alert.resolution_note = reason, note
    emit(ctx.db, alert, "resolved", now, {"by": user_id, "reason": reason})
    ctx.record("alert.resolve", "alert", alert.id, detail={"reason": reason})
    ctx.db.flush()
    return AlertOut.model_validate(alert)
