"""Sanction records: an officer's proposal, the decision (impose / reject) by someone else with the
authority, and the list. Nothing is imposed without a person's decision with a reason.

Order of refusals on a decision (each audited): role (403) → scope (404, as
if absent) → state (409) → the proposer themself (403) → authority (403).
The level needed is the stricter of the one recorded at proposal time and
the one today's policy gives, so a policy change cannot be raced.
"""
from __future__ import annotations

from sqlalchemy import func, select

from alerts.facts import ProposalDecided, Subject
from alerts.intake import apply_facts
from alerts.models import Alert
from checkins.models import CheckinLedgerEntry
from core.context import Ctx
from core.errors import Conflict, Invalid, NotFound
from core.schemas import Page
from geo.ingest.models import ViolationEpisode
from sanctions import policy
from sanctions.models import Sanction, SanctionKind, SanctionStatus
from supervision.authority import require_authority, stricter
from supervision.decisions import require_second_person
from supervision.models import Role, Supervisee
from supervision.scope import office_scope, require_role
from supervision.supervisees import get_scoped as scoped_supervisee

EVIDENCE_TABLES = {"alerts": Alert, "ledger": CheckinLedgerEntry, "episodes": ViolationEpisode}

STAFF = {Role.officer, Role.manager, Role.auditor}
DECIDERS = {Role.officer, Role.manager}


def sanction_out(s: Sanction) -> dict:
    return {"id": s.id, "supervisee_id": s.supervisee_id, "office_id": s.office_id, "kind": s.kind,
            "status": s.status, "facts": s.facts, "evidence": s.evidence, "rule_key": s.rule_key,
            "proposed_by": s.proposed_by, "proposed_at": s.proposed_at, "required_level": s.required_level,
            "decided_by": s.decided_by, "decided_level": s.decided_level, "decided_at": s.decided_at,
            "decision_reason": s.decision_reason}


def add_proposal(ctx_db, *, sup: Supervisee, kind: SanctionKind, facts: str, evidence: dict, now,
                 proposed_by: int | None, rule_key: str | None = None) -> Sanction:
    row = Sanction(supervisee_id=sup.id, office_id=sup.office_id, kind=kind, status=SanctionStatus.proposed,
                   facts=facts, evidence=evidence, rule_key=rule_key, proposed_by=proposed_by, proposed_at=now,
                   required_level=policy.level_for(ctx_db, sup.office_id, kind))
    ctx_db.add(row)
    ctx_db.flush()
    return row


def _check_evidence(db, supervisee_id: int, evidence: dict) -> dict:
    """Every id must be this supervisee's (a sanction cannot rest on someone else's record); sorted, unique."""
    out = {}
    for name, model in EVIDENCE_TABLES.items():
        ids = sorted(set(evidence.get(name) or ()))
        found = set(db.scalars(select(model.id).where(model.id.in_(ids), model.supervisee_id == supervisee_id)))
        if missing := [i for i in ids if i not in found]:
            raise Invalid(f"evidence.{name}: {missing} are not {name} of this supervisee", field=f"evidence.{name}")
        out[name] = ids
    return out


def propose_sanction(*, ctx: Ctx, supervisee_id: int, kind: SanctionKind, facts: str, evidence: dict) -> dict:
    """An officer's record of a 训诫 / 警告 / proposal / 表扬, pending a decision by someone with the authority."""
    require_role(ctx.principal, DECIDERS, "propose sanctions")
    sup = scoped_supervisee(ctx, supervisee_id)
    evidence = _check_evidence(ctx.db, sup.id, evidence)
    row = add_proposal(ctx.db, sup=sup, kind=kind, facts=facts, evidence=evidence, now=ctx.clock.now(),
                       proposed_by=ctx.principal.user_id)
    ctx.record("sanction.propose", "sanction", row.id, detail={
        "supervisee_id": sup.id, "office_id": sup.office_id, "kind": kind, "evidence": evidence,
        "required_level": row.required_level})
    return sanction_out(row)


def decide_sanction(*, ctx: Ctx, sanction_id: int, impose: bool, reason: str) -> dict:
    """Impose or reject a proposal, with a reason."""
    require_role(ctx.principal, DECIDERS, "decide sanctions")
    row = ctx.db.scalar(select(Sanction).where(Sanction.id == sanction_id,
                                               office_scope(ctx.principal, Sanction.office_id)).with_for_update())
    if row is None:
        ctx.record("sanction.decide", "sanction", sanction_id, outcome="not_found")
        raise NotFound()
    if row.status != SanctionStatus.proposed:
        raise Conflict(f"this sanction is already {row.status}")
    require_second_person(ctx, row, action="sanction.decide", kind="sanction", involved=(row.proposed_by,),
                          reason="proposer", message="you proposed this: someone else must decide it")
    required = stricter(row.required_level, policy.level_for(ctx.db, row.office_id, row.kind)).value
    held = require_authority(ctx.db, ctx.principal, row.office_id, required, f"a {row.kind}")
    row.status = SanctionStatus.imposed if impose else SanctionStatus.rejected
    row.decided_by, row.decided_level, row.decided_at, row.decision_reason = \
        ctx.principal.user_id, held.value, ctx.clock.now(), reason
    ctx.db.flush()
    ctx.record("sanction.impose" if impose else "sanction.reject", "sanction", row.id, detail={
        "supervisee_id": row.supervisee_id, "office_id": row.office_id, "kind": row.kind, "level": held.value,
        "required_level": required, "reason": reason})
    sup = ctx.db.get(Supervisee, row.supervisee_id)
    apply_facts(ctx.db, Subject(sup.id, sup.office_id, sup.tier), [ProposalDecided("sanction", row.id, row.status)],
                now=ctx.clock.now(), cfg=ctx.settings.alerts)
    return sanction_out(row)


def list_sanctions(*, ctx: Ctx, supervisee_id: int, limit: int, offset: int) -> Page[dict]:
    """A supervisee's sanctions and praise, proposals included (newest first). The supervisee reads
    their own decided ones (a decision is served on them, 实施办法 art. 35), never a pending proposal."""
    require_role(ctx.principal, STAFF | {Role.supervisee}, "read sanctions")
    scoped_supervisee(ctx, supervisee_id)
    where: tuple = (Sanction.supervisee_id == supervisee_id,)
    if ctx.principal.role == Role.supervisee:
        where += (Sanction.status == SanctionStatus.imposed,)
    total = ctx.db.scalar(select(func.count()).select_from(Sanction).where(*where)) or 0
    rows = ctx.db.scalars(select(Sanction).where(*where).order_by(Sanction.proposed_at.desc(), Sanction.id.desc())
                          .limit(limit).offset(offset))
    items = [sanction_out(s) for s in rows]
    ctx.record("sanction.read", "supervisee", supervisee_id, detail={"rows": len(items)})
    return Page(items=items, total=total, limit=limit, offset=offset)


def sanction_queue(*, ctx: Ctx, pending: bool, limit: int, offset: int) -> Page[dict]:
    """Sanctions in the caller's scope; ``pending``: the proposals waiting for a decision (oldest first)."""
    require_role(ctx.principal, STAFF, "read sanctions")
    where = [office_scope(ctx.principal, Sanction.office_id)]
    if pending:
        where.append(Sanction.status == SanctionStatus.proposed)
    total = ctx.db.scalar(select(func.count()).select_from(Sanction).where(*where)) or 0
    order = Sanction.proposed_at if pending else Sanction.proposed_at.desc()
    rows = ctx.db.scalars(select(Sanction).where(*where).order_by(order, Sanction.id).limit(limit).offset(offset))
    items = [sanction_out(s) for s in rows]
    ctx.record("sanction.queue.read", detail={"pending": pending, "rows": len(items)})
    return Page(items=items, total=total, limit=limit, offset=offset)
