"""REST routes for leave, standing permits, leave policies and the leave audit report.

Thin: parse, call the service, commit, answer. A refused state change is
audited too (outcome "refused" / "not_found"): the failed transaction is
rolled back first, then the refusal row is written and committed on its own,
so a refusal never leaves half an action behind.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Literal, TypeVar

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from api.deps import CtxDep, PagingDep
from core.context import Ctx
from core.errors import NotFound, ServiceError
from leave import approval, permits, policy, report, service
from leave.models import LeaveStatus
from leave.report_format import report_csv, report_pdf
from leave.schemas import (
    CutShortIn, DecisionIn, ExtendIn, LeaveIn, LeaveOut, PermitIn, PermitOut, PolicyIn, ReturnIn, WithdrawIn,
)
from core.schemas import Page

router = APIRouter()
_404 = {404: {"description": "Not found, or outside your jurisdiction (indistinguishable)"}}
T = TypeVar("T")


def _act(ctx: Ctx, action: str, object_type: str, object_id: object, call: Callable[[], T]) -> T:
    """Run a state change; commit it, or audit its refusal and re-raise."""
    try:
        out = call()
    except ServiceError as exc:
        ctx.db.rollback()
        outcome = "not_found" if isinstance(exc, NotFound) else "refused"
        ctx.record(action, object_type, object_id, outcome=outcome,
                   detail={"status": exc.status, "message": exc.message, "field": exc.field})
        ctx.db.commit()
        raise
    ctx.db.commit()
    return out


def _read(ctx: Ctx, call: Callable[[], T]) -> T:
    try:
        return call()
    finally:
        ctx.db.commit()  # the audit row of the read, also of a refused one


# --- leave ------------------------------------------------------------------------

@router.post("/leave", response_model=LeaveOut, status_code=201, tags=["leave"])
def create_leave(data: LeaveIn, ctx: CtxDep):
    return _act(ctx, "leave.request", "leave", None, lambda: service.create_leave(ctx=ctx, data=data))


@router.get("/leave", response_model=Page[LeaveOut], tags=["leave"])
def list_leaves(ctx: CtxDep, paging: PagingDep, supervisee_id: int | None = Query(None, ge=1),
                status: LeaveStatus | None = None):
    return _read(ctx, lambda: service.list_leaves(ctx=ctx, limit=paging.limit, offset=paging.offset,
                                                  supervisee_id=supervisee_id, status=status))


@router.get("/leave/{leave_id}", response_model=LeaveOut, responses=_404, tags=["leave"])
def get_leave(leave_id: int, ctx: CtxDep):
    return _read(ctx, lambda: service.get_leave(ctx=ctx, leave_id=leave_id))


@router.post("/leave/{leave_id}/approve", response_model=LeaveOut, responses=_404, tags=["leave"])
def approve_leave(leave_id: int, data: DecisionIn, ctx: CtxDep):
    return _act(ctx, "leave.approve", "leave", leave_id,
                lambda: approval.approve_leave(ctx=ctx, leave_id=leave_id, reason=data.reason))


@router.post("/leave/{leave_id}/reject", response_model=LeaveOut, responses=_404, tags=["leave"])
def reject_leave(leave_id: int, data: DecisionIn, ctx: CtxDep):
    return _act(ctx, "leave.reject", "leave", leave_id,
                lambda: approval.reject_leave(ctx=ctx, leave_id=leave_id, reason=data.reason))


@router.post("/leave/{leave_id}/withdraw", response_model=LeaveOut, responses=_404, tags=["leave"])
def withdraw_leave(leave_id: int, data: WithdrawIn, ctx: CtxDep):
    return _act(ctx, "leave.withdraw", "leave", leave_id,
                lambda: service.withdraw_leave(ctx=ctx, leave_id=leave_id, data=data))


@router.post("/leave/{leave_id}/extend", response_model=LeaveOut, status_code=201, responses=_404, tags=["leave"])
def extend_leave(leave_id: int, data: ExtendIn, ctx: CtxDep):
    return _act(ctx, "leave.extend", "leave", leave_id,
                lambda: service.extend_leave(ctx=ctx, leave_id=leave_id, data=data))


@router.post("/leave/{leave_id}/cut-short", response_model=LeaveOut, responses=_404, tags=["leave"])
def cut_short(leave_id: int, data: CutShortIn, ctx: CtxDep):
    return _act(ctx, "leave.cut_short", "leave", leave_id,
                lambda: service.cut_short(ctx=ctx, leave_id=leave_id, data=data))


@router.post("/leave/{leave_id}/return", response_model=LeaveOut, responses=_404, tags=["leave"])
def report_return(leave_id: int, data: ReturnIn, ctx: CtxDep):
    return _act(ctx, "leave.return", "leave", leave_id,
                lambda: service.report_return(ctx=ctx, leave_id=leave_id, data=data))


# --- standing permits ---------------------------------------------------------------

@router.post("/leave-permits", response_model=PermitOut, status_code=201, tags=["leave"])
def create_permit(data: PermitIn, ctx: CtxDep):
    return _act(ctx, "permit.request", "permit", None, lambda: permits.create_permit(ctx=ctx, data=data))


@router.get("/leave-permits/{permit_id}", response_model=PermitOut, responses=_404, tags=["leave"])
def get_permit(permit_id: int, ctx: CtxDep):
    return _read(ctx, lambda: permits.get_permit(ctx=ctx, permit_id=permit_id))


@router.post("/leave-permits/{permit_id}/approve", response_model=PermitOut, responses=_404, tags=["leave"])
def approve_permit(permit_id: int, data: DecisionIn, ctx: CtxDep):
    return _act(ctx, "permit.approve", "permit", permit_id,
                lambda: permits.decide_permit(ctx=ctx, permit_id=permit_id, approve=True, reason=data.reason))


@router.post("/leave-permits/{permit_id}/reject", response_model=PermitOut, responses=_404, tags=["leave"])
def reject_permit(permit_id: int, data: DecisionIn, ctx: CtxDep):
    return _act(ctx, "permit.reject", "permit", permit_id,
                lambda: permits.decide_permit(ctx=ctx, permit_id=permit_id, approve=False, reason=data.reason))


@router.post("/leave-permits/{permit_id}/end", response_model=PermitOut, responses=_404, tags=["leave"])
def end_permit(permit_id: int, data: WithdrawIn, ctx: CtxDep):
    return _act(ctx, "permit.end", "permit", permit_id,
                lambda: permits.end_permit(ctx=ctx, permit_id=permit_id, reason=data.reason))


# --- policies and the report ---------------------------------------------------------

@router.get("/leave-policies/{jurisdiction_id}", responses=_404, tags=["leave"])
def get_policy(jurisdiction_id: int, ctx: CtxDep):
    return _read(ctx, lambda: policy.get_policy(ctx=ctx, jurisdiction_id=jurisdiction_id))


@router.put("/leave-policies/{jurisdiction_id}", responses=_404, tags=["leave"])
def set_policy(jurisdiction_id: int, data: PolicyIn, ctx: CtxDep):
    return _act(ctx, "leave_policy.set", "jurisdiction", jurisdiction_id,
                lambda: policy.set_policy(ctx=ctx, jurisdiction_id=jurisdiction_id, values=data.model_dump()))


@router.get("/reports/leave", responses=_404, tags=["reports"])
def leave_report(ctx: CtxDep, jurisdiction_id: int | None = Query(None, ge=1),
                 start: date | None = Query(None, alias="from", description="first day (local), default to − 30 d"),
                 end: date | None = Query(None, alias="to", description="last day (local, inclusive), default today"),
                 format: Literal["json", "csv", "pdf"] = "json"):
    def build():
        data = report.build_report(ctx=ctx, jurisdiction_id=jurisdiction_id, start=start, end=end)
        ctx.record("report.leave", "jurisdiction", data["jurisdiction"]["id"], detail={
            "from": str(data["period"]["from"]), "to": str(data["period"]["to"]), "format": format,
            "leave_ids": [r["id"] for r in data["rows"]]})
        return data

    data = _read(ctx, build)
    name = f"leave-report-{data['jurisdiction']['id']}-{data['period']['from']}-{data['period']['to']}"
    if format == "csv":
        return Response(report_csv(data), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if format == "pdf":
        return Response(report_pdf(data), media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})
    return JSONResponse(jsonable_encoder(data))
