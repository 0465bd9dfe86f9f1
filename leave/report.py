"""The manager's leave audit report: every request of a jurisdiction and period,
its decision and outcome, flags for anything irregular, totals, and a
reconciliation with the audit trail.

The report reads what is stored, not what the workflow would allow today:
rows written around the workflow (an import, a direct database edit) are
exactly what it exists to catch, so every flag is recomputed from the rows
and the audit trail rather than trusted from the workflow's own columns.

Period: rows whose request *or* decision falls in [from, to] (local dates,
UTC+8). Counts use the event's own time: requests by ``requested_at``,
approvals and rejections by ``decided_at``; the audit side counts rows of
``leave.request`` / ``leave.approve`` / ``leave.reject`` (outcome ok) in the
same period for leaves of the same jurisdiction. Equal counts and no row
without its audit record mean the report and the trail agree.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, or_, select

from alerts.models import Alert, AlertKind
from core.audit import AuditEntry
from core.context import Ctx
from core.errors import Invalid, NotFound
from core.localtime import LOCAL_TZ
from leave.models import LeaveRequest, LeaveStatus
from leave.policy import effective_policy
from supervision.authority import RANK, AuthorityLevel, stricter
from supervision.models import Jurisdiction, Role, Supervisee, User
from supervision.scope import require_role

VIOLATION_KINDS = (AlertKind.left_permitted_area, AlertKind.outside_leave_destination,
                   AlertKind.entered_exclusion_zone, AlertKind.curfew_breach)
AUDIT_ACTIONS = {"requests": "leave.request", "approvals": "leave.approve", "rejections": "leave.reject"}
FLAGS = ("wrong_level", "approved_after_departure", "overlapping_approval", "no_reason", "self_approved",
         "repeated_requests", "no_audit_record")
_ROLE_LEVEL = {Role.officer: AuthorityLevel.office, Role.manager: AuthorityLevel.bureau}


# The report's calendar: wide enough for any record, narrow enough that the
# day after ``to`` and the UTC conversion of ``from`` exist (9999-12-31 + 1
# day overflowed into a 500).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def _check_day(name: str, day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(f"{name} must be between {FIRST_DAY} and {LAST_DAY}, got {day}", field=f"query.{name}")
    return day


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time(0), LOCAL_TZ), datetime.combine(end + timedelta(days=1), time(0), LOCAL_TZ)


def _in(t: datetime | None, lo: datetime, hi: datetime) -> bool:
    return t is not None and lo <= t < hi


def _audit_rows(ctx: Ctx, subtree, lo: datetime, hi: datetime | None) -> list[tuple[str, str, datetime]]:
    ids = select(cast(LeaveRequest.id, String)).where(LeaveRequest.office_id.in_(subtree))
    q = select(AuditEntry.action, AuditEntry.object_id, AuditEntry.at).where(
        AuditEntry.action.in_(AUDIT_ACTIONS.values()), AuditEntry.outcome == "ok", AuditEntry.object_type == "leave",
        AuditEntry.object_id.in_(ids), AuditEntry.at >= lo)
    if hi is not None:
        q = q.where(AuditEntry.at < hi)
    return [tuple(r) for r in ctx.db.execute(q).all()]


def _was_approved(leave: LeaveRequest) -> bool:
    """Approved, possibly withdrawn since (a withdrawal keeps the decision columns)."""
    return leave.decided_at is not None and leave.status != LeaveStatus.rejected


def _outcome(leave: LeaveRequest, now: datetime, grace: timedelta) -> str:
    if leave.status != LeaveStatus.approved:
        return ""
    if leave.parent_id is not None:
        return "extension"
    if leave.returned_at is not None:
        return "returned_on_time" if leave.returned_at <= leave.return_due_at else "returned_late"
    if now > leave.return_due_at + grace:
        return "not_returned"
    return "on_leave" if now >= leave.depart_at else "not_started"


def _flags(leave: LeaveRequest, *, users: dict[int, User], approved: list[LeaveRequest], history: list[datetime],
           audited: set[tuple[str, str]], repeat: tuple[int, int], required: str) -> list[str]:
    out = []
    if leave.status == LeaveStatus.approved:
        decider = users.get(leave.decided_by) if leave.decided_by else None
        held = leave.decided_level or (_ROLE_LEVEL.get(decider.role) if decider else None)
        if held is None or RANK[AuthorityLevel(held)] < RANK[AuthorityLevel(required)]:
            out.append("wrong_level")
        if leave.decided_at is None or leave.decided_at > leave.depart_at:
            out.append("approved_after_departure")
        family = {leave.id, leave.parent_id}
        end = leave.returned_at or leave.return_due_at
        if any(o.id not in family and o.parent_id != leave.id and o.depart_at < end
               and (o.returned_at or o.return_due_at) > leave.depart_at for o in approved):
            out.append("overlapping_approval")
    if leave.status in (LeaveStatus.approved, LeaveStatus.rejected):
        if not (leave.decision_reason or "").strip():
            out.append("no_reason")
        if leave.decided_by is not None and leave.decided_by == leave.requested_by:
            out.append("self_approved")
    count, days = repeat
    if sum(1 for t in history if leave.requested_at - timedelta(days=days) < t <= leave.requested_at) >= count:
        out.append("repeated_requests")
    key = str(leave.id)
    needed = [("leave.request", key)]
    if leave.decided_at is not None:
        needed.append(("leave.approve" if _was_approved(leave) else "leave.reject", key))
    if any(n not in audited for n in needed):
        out.append("no_audit_record")
    return out


def build_report(*, ctx: Ctx, jurisdiction_id: int | None, start: date | None, end: date | None) -> dict[str, Any]:
    """The report as plain data (the route renders JSON, CSV or PDF from it)."""
    require_role(ctx.principal, {Role.manager, Role.auditor}, "read the leave audit report")
    now = ctx.clock.now()
    jid = jurisdiction_id or ctx.principal.jurisdiction_id
    where = ctx.db.get(Jurisdiction, jid)
    if where is None or not where.path.startswith(ctx.principal.jurisdiction_path):
        ctx.record("report.leave", "jurisdiction", jid, outcome="not_found")
        raise NotFound()
    end = _check_day("to", end or now.astimezone(LOCAL_TZ).date())
    start = _check_day("from", start or end - timedelta(days=30))
    if start > end:
        raise Invalid("from must not be after to", field="from")
    lo, hi = _bounds(start, end)
    subtree = select(Jurisdiction.id).where(Jurisdiction.path.startswith(where.path, autoescape=True))
    leaves = list(ctx.db.scalars(select(LeaveRequest).where(
        LeaveRequest.office_id.in_(subtree),
        or_(LeaveRequest.requested_at.between(lo, hi), LeaveRequest.decided_at.between(lo, hi)))
        .order_by(LeaveRequest.requested_at, LeaveRequest.id)))
    leaves = [lv for lv in leaves if _in(lv.requested_at, lo, hi) or _in(lv.decided_at, lo, hi)]
    sup_ids = {lv.supervisee_id for lv in leaves}
    cfg = ctx.settings.leave
    repeat = (cfg.leave_repeat_count, cfg.leave_repeat_days)
    others = list(ctx.db.scalars(select(LeaveRequest).where(LeaveRequest.supervisee_id.in_(sup_ids or {0}))))
    approved_by_sup: dict[int, list[LeaveRequest]] = defaultdict(list)
    history: dict[int, list[datetime]] = defaultdict(list)
    for o in others:
        history[o.supervisee_id].append(o.requested_at)
        if o.status == LeaveStatus.approved:
            approved_by_sup[o.supervisee_id].append(o)
    user_ids = {u for lv in leaves for u in (lv.requested_by, lv.decided_by) if u}
    users = {u.id: u for u in ctx.db.scalars(select(User).where(User.id.in_(user_ids or {0})))}
    sups = {s.id: s for s in ctx.db.scalars(select(Supervisee).where(Supervisee.id.in_(sup_ids or {0})))}
    offices = {j.id: j for j in ctx.db.scalars(select(Jurisdiction).where(Jurisdiction.id.in_(subtree)))}
    all_audit = _audit_rows(ctx, subtree, datetime(1970, 1, 1, tzinfo=LOCAL_TZ), None)
    audited = {(a, o) for a, o, _ in all_audit}
    alerts = ctx.db.execute(select(Alert.supervisee_id, Alert.occurred_at).where(
        Alert.supervisee_id.in_(sup_ids or {0}), Alert.kind.in_([k.value for k in VIOLATION_KINDS]))).all()
    grace = timedelta(hours=cfg.leave_return_grace_hours)
    policies: dict[int, Any] = {}
    rows = []
    for lv in leaves:
        policy = policies.setdefault(lv.office_id, effective_policy(ctx.db, lv.office_id))
        required = stricter(lv.required_level, policy.level_for(lv.total_days)).value
        window_end = min(lv.returned_at or lv.return_due_at, now)
        violations = sum(1 for s, t in alerts if s == lv.supervisee_id and lv.depart_at <= t < window_end) \
            if lv.status == LeaveStatus.approved and lv.parent_id is None else 0
        requester, decider = users.get(lv.requested_by), users.get(lv.decided_by) if lv.decided_by else None
        rows.append({
            "id": lv.id, "parent_id": lv.parent_id, "supervisee_id": lv.supervisee_id,
            "supervisee": _then(lv.supervisee_name, sups.get(lv.supervisee_id), "name"),
            "office_id": lv.office_id, "office": _then(lv.office_name, offices.get(lv.office_id), "name"),
            "requested_by": lv.requested_by, "requester": _then(lv.requester_name, requester, "full_name"),
            "requester_role": requester.role if requester else None, "requested_at": lv.requested_at,
            "approver_id": lv.decided_by, "approver": _then(lv.approver_name, decider, "full_name"),
            "required_level": required, "decided_level": lv.decided_level, "depart_at": lv.depart_at,
            "return_at": lv.return_at, "return_due_at": lv.return_due_at, "days": lv.days,
            "total_days": lv.total_days, "decision": lv.status, "decided_at": lv.decided_at,
            "decision_reason": lv.decision_reason,
            "hours_to_decision": round((lv.decided_at - lv.requested_at).total_seconds() / 3600, 2)
            if lv.decided_at else None,
            "returned_at": lv.returned_at, "outcome": _outcome(lv, now, grace), "violations": violations,
            "flags": _flags(lv, users=users, approved=approved_by_sup[lv.supervisee_id],
                            history=history[lv.supervisee_id], audited=audited, repeat=repeat, required=required),
        })
    return {
        "jurisdiction": {"id": where.id, "name": where.name, "level": where.level},
        "period": {"from": start, "to": end}, "generated_at": now, "rows": rows,
        "totals": _totals(rows), "flag_counts": {f: sum(f in r["flags"] for r in rows) for f in FLAGS},
        "reconciliation": _reconcile(leaves, [a for a in all_audit if lo <= a[2] < hi], lo, hi),
    }


def _then(recorded: str | None, current: object | None, attribute: str) -> str | None:
    """The name recorded at the event; today's only for a row written without one (an import, a direct edit)."""
    if recorded is not None:
        return recorded
    return getattr(current, attribute) if current is not None else None


def _totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """By office and month (of the request, local time)."""
    groups: dict[tuple, Counter] = defaultdict(Counter)
    for r in rows:
        key = (r["office_id"], r["office"], r["requested_at"].astimezone(LOCAL_TZ).strftime("%Y-%m"))
        groups[key]["requests"] += 1
        groups[key][r["decision"]] += 1
        groups[key]["flagged"] += bool(r["flags"])
    return [{"office_id": k[0], "office": k[1], "month": k[2], "requests": c["requests"],
             **{s.value: c[s.value] for s in LeaveStatus}, "flagged": c["flagged"]}
            for k, c in sorted(groups.items(), key=lambda kv: (kv[0][2], kv[0][1] or ""))]


def _reconcile(leaves: list[LeaveRequest], audit: list[tuple[str, str, datetime]], lo: datetime,
               hi: datetime) -> dict[str, Any]:
    report = {
        "requests": sum(_in(lv.requested_at, lo, hi) for lv in leaves),
        "approvals": sum(_was_approved(lv) and _in(lv.decided_at, lo, hi) for lv in leaves),
        "rejections": sum(lv.status == LeaveStatus.rejected and _in(lv.decided_at, lo, hi) for lv in leaves),
    }
    counted = Counter(action for action, _, _ in audit)
    trail = {name: counted[action] for name, action in AUDIT_ACTIONS.items()}
    return {"ok": report == trail, "report": report, "audit": trail,
            "actions": AUDIT_ACTIONS, "period": {"from": lo, "to_exclusive": hi}}
