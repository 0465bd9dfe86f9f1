"""REST routes for sanctions and praise (考核奖惩), monthly assessments, obligations, explainable risk
and tier proposals (分类管理). Staff only: the system proposes, an officer decides with a reason.

Thin: parse, call the service, answer; the unit of work (api.deps) commits or rolls back.
Out of scope answers 404, exactly like an id that does not exist.
"""
from __future__ import annotations

from fastapi import APIRouter, Query

from api.deps import CtxDep, PagingDep
from core.schemas import Id
from risk import service as risk
from sanctions import monthly, obligations, policy, service
from sanctions.schemas import (
    ConfirmIn, ObligationIn, SanctionDecideIn, SanctionIn, SanctionPolicyIn, TierDecideIn,
)

router = APIRouter(tags=["sanctions"])
_404 = {404: {"description": "Not found, or outside your jurisdiction (indistinguishable)"}}


@router.get("/supervisees/{supervisee_id}/sanctions", responses=_404, summary="Sanctions and praise, proposals included")
def list_sanctions(supervisee_id: Id, ctx: CtxDep, paging: PagingDep):
    return service.list_sanctions(ctx=ctx, supervisee_id=supervisee_id, limit=paging.limit, offset=paging.offset)


@router.post("/supervisees/{supervisee_id}/sanctions", status_code=201, responses=_404,
             summary="Propose a 训诫 / 警告 / proposal / 表扬 (decided by someone else with the authority)")
def propose_sanction(supervisee_id: Id, data: SanctionIn, ctx: CtxDep):
    return service.propose_sanction(ctx=ctx, supervisee_id=supervisee_id, kind=data.kind, facts=data.facts,
                                    evidence=data.evidence.model_dump())


@router.get("/sanctions", summary="Sanctions in scope; pending=true: the proposals waiting for a decision")
def sanction_queue(ctx: CtxDep, paging: PagingDep, pending: bool = False):
    return service.sanction_queue(ctx=ctx, pending=pending, limit=paging.limit, offset=paging.offset)


@router.post("/sanctions/{sanction_id}/decide", responses=_404, summary="Impose or reject a proposed sanction")
def decide_sanction(sanction_id: Id, data: SanctionDecideIn, ctx: CtxDep):
    return service.decide_sanction(ctx=ctx, sanction_id=sanction_id, impose=data.decision == "impose",
                                   reason=data.reason)


@router.get("/supervisees/{supervisee_id}/assessments", responses=_404, summary="Monthly assessments (newest first)")
def list_assessments(supervisee_id: Id, ctx: CtxDep, paging: PagingDep):
    return monthly.list_assessments(ctx=ctx, supervisee_id=supervisee_id, limit=paging.limit, offset=paging.offset)


@router.post("/assessments/{assessment_id}/confirm", responses=_404,
             summary="Confirm a monthly assessment (recomputed from the record first)")
def confirm_assessment(assessment_id: Id, data: ConfirmIn, ctx: CtxDep):
    return monthly.confirm_assessment(ctx=ctx, assessment_id=assessment_id, reason=data.reason)


@router.get("/supervisees/{supervisee_id}/obligations", responses=_404,
            summary="A month's study and public-service hours, totals and what the tier requires")
def month_hours(supervisee_id: Id, ctx: CtxDep, month: str = Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")):
    return obligations.month_hours(ctx=ctx, supervisee_id=supervisee_id, month=month)


@router.post("/supervisees/{supervisee_id}/obligations", status_code=201, responses=_404,
             summary="Enter hours of study or public service for a month")
def enter_hours(supervisee_id: Id, data: ObligationIn, ctx: CtxDep):
    return obligations.enter_hours(ctx=ctx, supervisee_id=supervisee_id, month=data.month, kind=data.kind,
                                   hours=data.hours, note=data.note)


@router.get("/supervisees/{supervisee_id}/risk", responses=_404,
            summary="The latest risk score with every factor (weight, value, points, evidence)")
def latest_risk(supervisee_id: Id, ctx: CtxDep):
    return risk.latest_risk(ctx=ctx, supervisee_id=supervisee_id)


@router.get("/supervisees/{supervisee_id}/tier-proposals", responses=_404, summary="Tier proposals with their reasons")
def list_tier_proposals(supervisee_id: Id, ctx: CtxDep, paging: PagingDep):
    return risk.list_proposals(ctx=ctx, supervisee_id=supervisee_id, limit=paging.limit, offset=paging.offset)


@router.get("/tier-proposals", summary="Tier proposals in scope; pending=true: those waiting for a decision")
def tier_queue(ctx: CtxDep, paging: PagingDep, pending: bool = False):
    return risk.proposal_queue(ctx=ctx, pending=pending, limit=paging.limit, offset=paging.offset)


@router.post("/tier-proposals/{proposal_id}/decide", responses=_404,
             summary="Confirm (the tier changes; check-ins re-plan) or reject a tier proposal")
def decide_tier(proposal_id: Id, data: TierDecideIn, ctx: CtxDep):
    return risk.decide_proposal(ctx=ctx, proposal_id=proposal_id, confirm=data.decision == "confirm",
                                reason=data.reason)


@router.get("/sanction-policies/{jurisdiction_id}", responses=_404, summary="Approval levels in force and own")
def get_policy(jurisdiction_id: Id, ctx: CtxDep):
    return policy.get_policy(ctx=ctx, jurisdiction_id=jurisdiction_id)


@router.put("/sanction-policies/{jurisdiction_id}", responses=_404, summary="Set a jurisdiction's approval levels (managers)")
def set_policy(jurisdiction_id: Id, data: SanctionPolicyIn, ctx: CtxDep):
    return policy.set_policy(ctx=ctx, jurisdiction_id=jurisdiction_id, values=data.model_dump())
