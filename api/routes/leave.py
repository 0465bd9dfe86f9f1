"""REST routes for leave, standing permits, leave policies and the leave audit report.

Thin: parse, call the service, answer. The unit of work (api.deps) commits,
or rolls a refused change back and keeps its audit row; a route's ``name``
is the audit action of that refusal row ("leave.approve", ...).
"""
from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from api.deps import CtxDep, PagingDep
from api.limits import heavy_route
from leave import approval, permits, policy, report, service
from leave.models import LeaveStatus
from leave.report_export import report_csv, report_pdf
from leave.schemas import (
    CutShortIn, DecisionIn, ExtendIn, LeaveIn, LeaveOut, PermitIn, PermitOut, PolicyIn, ReturnIn, WithdrawIn,
)
from core.schemas import Id, Page

router = APIRouter()
ReportCtx = heavy_route("report export")
_404 = {404: {"description": "Not found, or outside your jurisdiction (indistinguishable)"}}


# --- leave ------------------------------------------------------------------------

@router.post("/leave", response_model=LeaveOut, status_code=201, tags=["leave"], name="leave.request")
def create_leave(data: LeaveIn, ctx: CtxDep):
    return service.create_leave(ctx=ctx, data=data)


@router.get("/leave", response_model=Page[LeaveOut], tags=["leave"])
def list_leaves(ctx: CtxDep, paging: PagingDep, supervisee_id: Id | None = Query(None),
                status: LeaveStatus | None = None):
    return service.list_leaves(ctx=ctx, limit=paging.limit, offset=paging.offset,
                               supervisee_id=supervisee_id, status=status)


@router.get("/leave/{leave_id}", response_model=LeaveOut, responses=_404, tags=["leave"])
def get_leave(leave_id: Id, ctx: CtxDep):
    return service.get_leave(ctx=ctx, leave_id=leave_id)


@router.post("/leave/{leave_id}/approve", response_model=LeaveOut, responses=_404, tags=["leave"], name="leave.approve")
def approve_leave(leave_id: Id, data: DecisionIn, ctx: CtxDep):
    return approval.approve_leave(ctx=ctx, leave_id=leave_id, reason=data.reason)


@router.post("/leave/{leave_id}/reject", response_model=LeaveOut, responses=_404, tags=["leave"], name="leave.reject")
def reject_leave(leave_id: Id, data: DecisionIn, ctx: CtxDep):
    return approval.reject_leave(ctx=ctx, leave_id=leave_id, reason=data.reason)


@router.post("/leave/{leave_id}/withdraw", name="leave.withdraw", response_model=LeaveOut,
             responses=_404, tags=["leave"])
def withdraw_leave(leave_id: Id, data: WithdrawIn, ctx: CtxDep):
    return service.withdraw_leave(ctx=ctx, leave_id=leave_id, data=data)


@router.post("/leave/{leave_id}/extend", name="leave.extend", response_model=LeaveOut,
             status_code=201, responses=_404, tags=["leave"])
def extend_leave(leave_id: Id, data: ExtendIn, ctx: CtxDep):
    return service.extend_leave(ctx=ctx, leave_id=leave_id, data=data)


@router.post("/leave/{leave_id}/cut-short", name="leave.cut_short", response_model=LeaveOut,
             responses=_404, tags=["leave"])
def cut_short(leave_id: Id, data: CutShortIn, ctx: CtxDep):
    return service.cut_short(ctx=ctx, leave_id=leave_id, data=data)


@router.post("/leave/{leave_id}/return", response_model=LeaveOut, responses=_404, tags=["leave"], name="leave.return")
def report_return(leave_id: Id, data: ReturnIn, ctx: CtxDep):
    return service.report_return(ctx=ctx, leave_id=leave_id, data=data)


# --- standing permits ---------------------------------------------------------------

@router.post("/leave-permits", response_model=PermitOut, status_code=201, tags=["leave"], name="permit.request")
def create_permit(data: PermitIn, ctx: CtxDep):
    return permits.create_permit(ctx=ctx, data=data)


@router.get("/leave-permits/{permit_id}", response_model=PermitOut, responses=_404, tags=["leave"])
def get_permit(permit_id: Id, ctx: CtxDep):
    return permits.get_permit(ctx=ctx, permit_id=permit_id)


@router.post("/leave-permits/{permit_id}/approve", name="permit.approve", response_model=PermitOut,
             responses=_404, tags=["leave"])
def approve_permit(permit_id: Id, data: DecisionIn, ctx: CtxDep):
    return permits.decide_permit(ctx=ctx, permit_id=permit_id, approve=True, reason=data.reason)


@router.post("/leave-permits/{permit_id}/reject", name="permit.reject", response_model=PermitOut,
             responses=_404, tags=["leave"])
def reject_permit(permit_id: Id, data: DecisionIn, ctx: CtxDep):
    return permits.decide_permit(ctx=ctx, permit_id=permit_id, approve=False, reason=data.reason)


@router.post("/leave-permits/{permit_id}/end", name="permit.end", response_model=PermitOut,
             responses=_404, tags=["leave"])
def end_permit(permit_id: Id, data: WithdrawIn, ctx: CtxDep):
    return permits.end_permit(ctx=ctx, permit_id=permit_id, reason=data.reason)


# --- policies and the report ---------------------------------------------------------

@router.get("/leave-policies/{jurisdiction_id}", responses=_404, tags=["leave"])
def get_policy(jurisdiction_id: Id, ctx: CtxDep):
    return policy.get_policy(ctx=ctx, jurisdiction_id=jurisdiction_id)


@router.put("/leave-policies/{jurisdiction_id}", responses=_404, tags=["leave"], name="leave_policy.set")
def set_policy(jurisdiction_id: Id, data: PolicyIn, ctx: CtxDep):
    return policy.set_policy(ctx=ctx, jurisdiction_id=jurisdiction_id, values=data.model_dump())


_REPORT = {**_404, 200: {"description": "The report as JSON, CSV or PDF (``format``)", "content": {
    "application/json": {}, "text/csv": {}, "application/pdf": {}}}}


@router.get("/reports/leave", responses=_REPORT, tags=["reports"])
def leave_report(ctx: ReportCtx, jurisdiction_id: Id | None = Query(None),
                 start: date | None = Query(None, alias="from", description="first day (local), default to − 30 d"),
                 end: date | None = Query(None, alias="to", description="last day (local, inclusive), default today"),
                 format: Literal["json", "csv", "pdf"] = "json"):
    data = report.build_report(ctx=ctx, jurisdiction_id=jurisdiction_id, start=start, end=end)
    ctx.record("report.leave", "jurisdiction", data["jurisdiction"]["id"], detail={
        "from": str(data["period"]["from"]), "to": str(data["period"]["to"]), "format": format,
        "leave_ids": [r["id"] for r in data["rows"]]})
    name = f"leave-report-{data['jurisdiction']['id']}-{data['period']['from']}-{data['period']['to']}"
    if format == "csv":
        return Response(report_csv(data), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if format == "pdf":
        return Response(report_pdf(data), media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})
    return JSONResponse(jsonable_encoder(data))
