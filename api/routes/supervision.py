"""REST routes for jurisdictions, users, supervisees and devices. Thin: parse,
call the service, answer; the unit of work (api.deps) commits or keeps the refusal."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.deps import CtxDep, PagingDep
from geo.fences import permitted_area
from supervision import account_requests, accounts, devices, jurisdictions, registration_review, supervisees
from supervision.models import Role, SuperviseeStatus
from core.schemas import Id, Page
from supervision.schemas import (
    AccountRequestOut, DecisionIn, RegistrationOut, RegistrationPending, UserActivation,
    DeviceCreated, DeviceIn, DeviceOut, DeviceUpdate, JurisdictionIn, JurisdictionOut, JurisdictionUpdate,
    SuperviseeIn, SuperviseeOut, SuperviseeUpdate, UserIn, UserOut, UserUpdate,
)

router = APIRouter()
_404 = {404: {"description": "Not found, or outside your jurisdiction (indistinguishable)"}}


@router.get("/jurisdictions", response_model=Page[JurisdictionOut], tags=["jurisdictions"])
def list_jurisdictions(ctx: CtxDep, paging: PagingDep):
    return jurisdictions.list_jurisdictions(ctx=ctx, limit=paging.limit, offset=paging.offset)


@router.get("/jurisdictions/{jurisdiction_id}", response_model=JurisdictionOut, responses=_404, tags=["jurisdictions"])
def get_jurisdiction(jurisdiction_id: Id, ctx: CtxDep):
    return jurisdictions.get_jurisdiction(ctx=ctx, jurisdiction_id=jurisdiction_id)


@router.post("/jurisdictions", response_model=JurisdictionOut, status_code=201, tags=["jurisdictions"])
def create_jurisdiction(data: JurisdictionIn, ctx: CtxDep):
    return jurisdictions.create_jurisdiction(ctx=ctx, data=data)


@router.patch("/jurisdictions/{jurisdiction_id}", response_model=JurisdictionOut, responses=_404, tags=["jurisdictions"])
def update_jurisdiction(jurisdiction_id: Id, data: JurisdictionUpdate, ctx: CtxDep):
    return jurisdictions.update_jurisdiction(ctx=ctx, jurisdiction_id=jurisdiction_id, data=data)


@router.get("/users", response_model=Page[UserOut], tags=["users"])
def list_users(ctx: CtxDep, paging: PagingDep, role: Role | None = None):
    return accounts.list_users(ctx=ctx, limit=paging.limit, offset=paging.offset, role=role)


@router.get("/users/{user_id}", response_model=UserOut, responses=_404, tags=["users"])
def get_user(user_id: Id, ctx: CtxDep):
    return accounts.get_user(ctx=ctx, user_id=user_id)


_PENDING = {202: {"model": AccountRequestOut, "description": "Waits for a manager's approval (account_requests)"}}


@router.post("/users", response_model=UserActivation, status_code=201, responses=_PENDING, tags=["users"])
def create_user(data: UserIn, ctx: CtxDep):
    """A new account with a one-time activation code (officers), or a request a manager decides (202)."""
    return _pending_as_202(accounts.create_user(ctx=ctx, data=data))


@router.post("/users/{user_id}/reset", response_model=UserActivation, responses={**_404, **_PENDING}, tags=["users"])
def reset_user(user_id: Id, ctx: CtxDep):
    """End the user's sessions and replace the password by an activation code (or a request a manager decides)."""
    return _pending_as_202(accounts.reset_password(ctx=ctx, user_id=user_id))


def _pending_as_202(out):
    if isinstance(out, AccountRequestOut):
        return JSONResponse(out.model_dump(mode="json"), status_code=202)
    return out


@router.get("/account-requests", response_model=Page[AccountRequestOut], tags=["users"])
def list_account_requests(ctx: CtxDep, paging: PagingDep, status: Literal["pending", "approved", "rejected"] | None = "pending"):
    return account_requests.list_requests(ctx=ctx, limit=paging.limit, offset=paging.offset, status=status)


@router.post("/account-requests/{request_id}/approve", response_model=UserActivation, responses=_404, tags=["users"])
def approve_account_request(request_id: Id, data: DecisionIn, ctx: CtxDep):
    """A manager above the account approves; the activation code is shown to that manager only."""
    return account_requests.approve(ctx=ctx, request_id=request_id, reason=data.reason)


@router.post("/account-requests/{request_id}/reject", response_model=AccountRequestOut, responses=_404, tags=["users"])
def reject_account_request(request_id: Id, data: DecisionIn, ctx: CtxDep):
    return account_requests.reject(ctx=ctx, request_id=request_id, reason=data.reason)


@router.patch("/users/{user_id}", response_model=UserOut, responses=_404, tags=["users"])
def update_user(user_id: Id, data: UserUpdate, ctx: CtxDep):
    return accounts.update_user(ctx=ctx, user_id=user_id, data=data)


@router.get("/supervisees", response_model=Page[SuperviseeOut], tags=["supervisees"])
def list_supervisees(ctx: CtxDep, paging: PagingDep, office_id: Id | None = Query(None),
                     status: SuperviseeStatus | None = None):
    out = supervisees.list_supervisees(ctx=ctx, limit=paging.limit, offset=paging.offset, office_id=office_id,
                                       status=status)
    return permitted_area.with_area_warnings(ctx, out)


@router.get("/supervisees/{supervisee_id}", response_model=SuperviseeOut, responses=_404, tags=["supervisees"])
def get_supervisee(supervisee_id: Id, ctx: CtxDep):
    out = supervisees.get_supervisee(ctx=ctx, supervisee_id=supervisee_id)
    return permitted_area.with_area_warnings(ctx, out)


@router.post("/supervisees", response_model=SuperviseeOut, status_code=201, tags=["supervisees"], responses={
    202: {"model": RegistrationPending, "description": "Held for review by the district bureau"}})
def create_supervisee(data: SuperviseeIn, ctx: CtxDep):
    # Codes first: a held registration must meet the same checks as any other.
    permitted_area.check_codes(ctx=ctx, codes=data.permitted_area_codes)
    out = supervisees.create_supervisee(ctx=ctx, data=data)
    if isinstance(out, RegistrationPending):
        return JSONResponse(out.model_dump(mode="json"), status_code=202)
    # The codes mean a fence, in this transaction.
    permitted_area.sync_permitted_area(ctx=ctx, supervisee_id=out.id)
    return permitted_area.with_area_warnings(ctx, out)


@router.get("/registrations", response_model=Page[RegistrationOut], tags=["supervisees"])
def list_registrations(ctx: CtxDep, paging: PagingDep,
                       status: Literal["pending", "accepted", "rejected"] | None = "pending"):
    """The bureau's queue of registrations held for review (managers)."""
    return registration_review.list_registrations(ctx=ctx, limit=paging.limit, offset=paging.offset, status=status)


@router.post("/registrations/{registration_id}/accept", response_model=RegistrationOut, responses=_404,
             tags=["supervisees"])
def accept_registration(registration_id: Id, data: DecisionIn, ctx: CtxDep):
    out = registration_review.accept(ctx=ctx, registration_id=registration_id, reason=data.reason)
    permitted_area.sync_permitted_area(ctx=ctx, supervisee_id=out.supervisee_id)
    return out


@router.post("/registrations/{registration_id}/reject", response_model=RegistrationOut, responses=_404,
             tags=["supervisees"])
def reject_registration(registration_id: Id, data: DecisionIn, ctx: CtxDep):
    return registration_review.reject(ctx=ctx, registration_id=registration_id, reason=data.reason)


@router.patch("/supervisees/{supervisee_id}", response_model=SuperviseeOut, responses=_404, tags=["supervisees"])
def update_supervisee(supervisee_id: Id, data: SuperviseeUpdate, ctx: CtxDep):
    out = supervisees.update_supervisee(ctx=ctx, supervisee_id=supervisee_id, data=data)
    if "permitted_area_codes" in data.model_fields_set:
        permitted_area.check_codes(ctx=ctx, codes=data.permitted_area_codes)
        permitted_area.sync_permitted_area(ctx=ctx, supervisee_id=out.id)  # versions the fence, if they changed
    return permitted_area.with_area_warnings(ctx, out)


@router.get("/devices", response_model=Page[DeviceOut], tags=["devices"])
def list_devices(ctx: CtxDep, paging: PagingDep, supervisee_id: Id | None = Query(None)):
    return devices.list_devices(ctx=ctx, limit=paging.limit, offset=paging.offset, supervisee_id=supervisee_id)


@router.get("/devices/{device_id}", response_model=DeviceOut, responses=_404, tags=["devices"])
def get_device(device_id: Id, ctx: CtxDep):
    return devices.get_device(ctx=ctx, device_id=device_id)


@router.post("/devices", response_model=DeviceCreated, status_code=201, tags=["devices"])
def create_device(data: DeviceIn, ctx: CtxDep):
    return devices.create_device(ctx=ctx, data=data)


@router.patch("/devices/{device_id}", response_model=DeviceOut | DeviceCreated, responses=_404, tags=["devices"])
def update_device(device_id: Id, data: DeviceUpdate, ctx: CtxDep):
    return devices.update_device(ctx=ctx, device_id=device_id, data=data)
