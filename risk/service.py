"""Reading a supervisee's risk (the factors, so the officer sees why) and deciding tier proposals.

A confirmed proposal changes the supervisee's tier, and that is all it does
here: the check-in scheduler re-plans from its next round (a plan made for
another tier ends, never retroactively) and alerts take their severity from
the tier at their next occurrence. Refusals: role (403) → scope (404) →
state (409, also when the tier changed meanwhile) → authority (403).
"""
from __future__ import annotations

from sqlalchemy import func, select

from alerts.facts import ProposalDecided, Subject
from alerts.intake import apply_facts
from core.context import Ctx
from core.errors import Conflict, NotFound
from core.schemas import Page
from risk.models import RiskAssessment, RiskFactor, TierProposal
from sanctions import policy
from supervision.authority import require_authority, stricter
from supervision.models import Role, Supervisee
from supervision.scope import office_scope, require_role
from supervision.supervisees import get_scoped as scoped_supervisee

STAFF = {Role.officer, Role.manager, Role.auditor}


def risk_out(db, a: RiskAssessment) -> dict:
    factors = db.scalars(select(RiskFactor).where(RiskFactor.assessment_id == a.id).order_by(RiskFactor.id))
    return {"id": a.id, "supervisee_id": a.supervisee_id, "computed_on": a.computed_on, "computed_at": a.computed_at,
            "score": a.score, "factors": [{"name": f.name, "weight": f.weight, "value": f.value, "points": f.points,
                                           "evidence": f.evidence} for f in factors]}


def latest_risk(*, ctx: Ctx, supervisee_id: int) -> dict:
    """The newest assessment with every factor (null before the first daily round)."""
    require_role(ctx.principal, STAFF, "read risk assessments")
    scoped_supervisee(ctx, supervisee_id)
    row = ctx.db.scalar(select(RiskAssessment).where(RiskAssessment.supervisee_id == supervisee_id)
                        .order_by(RiskAssessment.computed_on.desc()).limit(1))
    ctx.record("risk.read", "supervisee", supervisee_id, detail={"assessment_id": row.id if row else None})
    return {"supervisee_id": supervisee_id, "assessment": risk_out(ctx.db, row) if row else None}


def proposal_out(p: TierProposal) -> dict:
    return {"id": p.id, "supervisee_id": p.supervisee_id, "office_id": p.office_id, "from_tier": p.from_tier,
            "to_tier": p.to_tier, "reasons": p.reasons, "risk_assessment_id": p.risk_assessment_id,
            "status": p.status, "proposed_at": p.proposed_at, "required_level": p.required_level,
            "decided_by": p.decided_by, "decided_level": p.decided_level, "decided_at": p.decided_at,
            "decision_reason": p.decision_reason}


def list_proposals(*, ctx: Ctx, supervisee_id: int, limit: int, offset: int) -> Page[dict]:
    require_role(ctx.principal, STAFF, "read tier proposals")
    scoped_supervisee(ctx, supervisee_id)
    where = (TierProposal.supervisee_id == supervisee_id,)
    total = ctx.db.scalar(select(func.count()).select_from(TierProposal).where(*where)) or 0
    rows = ctx.db.scalars(select(TierProposal).where(*where)
                          .order_by(TierProposal.proposed_at.desc(), TierProposal.id.desc()).limit(limit).offset(offset))
    items = [proposal_out(p) for p in rows]
    ctx.record("tier_proposal.read", "supervisee", supervisee_id, detail={"rows": len(items)})
    return Page(items=items, total=total, limit=limit, offset=offset)


def decide_proposal(*, ctx: Ctx, proposal_id: int, confirm: bool, reason: str) -> dict:
    """Confirm (the tier changes now) or reject a proposal, with a reason."""
    require_role(ctx.principal, {Role.officer, Role.manager}, "decide tier proposals")
    row = ctx.db.scalar(select(TierProposal).where(
        TierProposal.id == proposal_id, office_scope(ctx.principal, TierProposal.office_id)).with_for_update())
    if row is None:
        ctx.record("tier_proposal.decide", "tier_proposal", proposal_id, outcome="not_found")
        raise NotFound()
    if row.status != "proposed":
        raise Conflict(f"this proposal is already {row.status}")
    sup = ctx.db.scalar(select(Supervisee).where(Supervisee.id == row.supervisee_id)
                        .with_for_update(of=Supervisee))
    if confirm and sup.tier != row.from_tier:
        raise Conflict(f"the tier is {sup.tier} now, not {row.from_tier}: the proposal is stale; reject it")
    required = stricter(row.required_level, policy.level_for(ctx.db, row.office_id, "tier")).value
    held = require_authority(ctx.db, ctx.principal, row.office_id, required, "a tier move")
    now = ctx.clock.now()
    row.status = "confirmed" if confirm else "rejected"
    row.decided_by, row.decided_level, row.decided_at, row.decision_reason = ctx.principal.user_id, held.value, now, reason
    if confirm:
        sup.tier = row.to_tier
    ctx.db.flush()
    ctx.record("tier.confirm" if confirm else "tier.reject", "tier_proposal", row.id, detail={
        "supervisee_id": row.supervisee_id, "office_id": row.office_id, "from": row.from_tier, "to": row.to_tier,
        "level": held.value, "reason": reason})
    apply_facts(ctx.db, Subject(sup.id, sup.office_id, sup.tier), [ProposalDecided("tier", row.id, row.status)],
                now=now, cfg=ctx.settings.alerts)
    return proposal_out(row)


def proposal_queue(*, ctx: Ctx, pending: bool, limit: int, offset: int) -> Page[dict]:
    """Tier proposals in the caller's scope; ``pending``: those waiting for a decision (oldest first)."""
    require_role(ctx.principal, STAFF, "read tier proposals")
    where = [office_scope(ctx.principal, TierProposal.office_id)]
    if pending:
        where.append(TierProposal.status == "proposed")
    total = ctx.db.scalar(select(func.count()).select_from(TierProposal).where(*where)) or 0
    order = TierProposal.proposed_at if pending else TierProposal.proposed_at.desc()
    rows = ctx.db.scalars(select(TierProposal).where(*where).order_by(order, TierProposal.id)
                          .limit(limit).offset(offset))
    items = [proposal_out(p) for p in rows]
    ctx.record("tier_proposal.queue.read", detail={"pending": pending, "rows": len(items)})
    return Page(items=items, total=total, limit=limit, offset=offset)
