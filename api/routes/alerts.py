"""REST routes for alerts and webhooks. Thin: parse, call the service, answer;
the unit of work (api.deps) commits, or keeps only the audit row of a refusal."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from alerts import service, webhook_config
from alerts.models import AlertKind
from alerts.schemas import (
    AlertDetail, AlertOut, AssignIn, DeliveryOut, NoteIn, NoteOut, ResolveIn, WebhookCreated, WebhookIn, WebhookOut,
    WebhookUpdate,
)
from api.deps import CtxDep, PagingDep
from core.schemas import Id, Page

router = APIRouter()
_404 = {404: {"description": "Not found, or outside your jurisdiction (indistinguishable)"}}
_ACT = {**_404, 403: {"description": "Your role may not act on alerts (auditors read only)"},
        409: {"description": "Invalid transition (e.g. acknowledging a resolved alert)"}}


@router.get("/alerts", response_model=Page[AlertOut], tags=["alerts"])
def list_alerts(ctx: CtxDep, paging: PagingDep,
                state: Literal["open", "acknowledged", "resolved"] | None = None, kind: AlertKind | None = None,
                office_id: Id | None = Query(None), supervisee_id: Id | None = Query(None),
                since: AwareDatetime | None = Query(None, description="created_at >= since (with UTC offset)"),
                until: AwareDatetime | None = Query(None, description="created_at < until (with UTC offset)")):
    return service.list_alerts(ctx=ctx, limit=paging.limit, offset=paging.offset, state=state, kind=kind,
                               office_id=office_id, supervisee_id=supervisee_id, since=since, until=until)


@router.get("/alerts/{alert_id}", response_model=AlertDetail, responses=_404, tags=["alerts"])
def get_alert(alert_id: Id, ctx: CtxDep):
    return service.get_alert(ctx=ctx, alert_id=alert_id)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut, responses=_ACT, tags=["alerts"])
def acknowledge(alert_id: Id, ctx: CtxDep):
    return service.acknowledge(ctx=ctx, alert_id=alert_id)


@router.post("/alerts/{alert_id}/assign", response_model=AlertOut, responses=_ACT, tags=["alerts"])
def assign(alert_id: Id, data: AssignIn, ctx: CtxDep):
    return service.assign(ctx=ctx, alert_id=alert_id, officer_id=data.officer_id)


@router.post("/alerts/{alert_id}/notes", response_model=NoteOut, status_code=201, responses=_ACT, tags=["alerts"])
def add_note(alert_id: Id, data: NoteIn, ctx: CtxDep):
    return service.add_note(ctx=ctx, alert_id=alert_id, body=data.body)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut, responses=_ACT, tags=["alerts"])
def resolve(alert_id: Id, data: ResolveIn, ctx: CtxDep):
    return service.resolve(ctx=ctx, alert_id=alert_id, reason=data.reason, note=data.note)


@router.post("/webhooks", response_model=WebhookCreated, status_code=201, tags=["webhooks"])
def create_webhook(data: WebhookIn, ctx: CtxDep):
    return webhook_config.create_webhook(ctx=ctx, data=data)


@router.get("/webhooks", response_model=Page[WebhookOut], tags=["webhooks"])
def list_webhooks(ctx: CtxDep, paging: PagingDep):
    return webhook_config.list_webhooks(ctx=ctx, limit=paging.limit, offset=paging.offset)


@router.patch("/webhooks/{webhook_id}", response_model=WebhookOut, responses=_404, tags=["webhooks"])
def update_webhook(webhook_id: Id, data: WebhookUpdate, ctx: CtxDep):
    return webhook_config.update_webhook(ctx=ctx, webhook_id=webhook_id, data=data)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Page[DeliveryOut], responses=_404, tags=["webhooks"])
def list_deliveries(webhook_id: Id, ctx: CtxDep, paging: PagingDep,
                    status: Literal["pending", "delivered", "failed"] | None = None):
    return webhook_config.list_deliveries(ctx=ctx, webhook_id=webhook_id, limit=paging.limit,
                                          offset=paging.offset, status=status)
