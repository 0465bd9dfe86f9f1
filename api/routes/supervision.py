"""REST routes for jurisdictions, users, supervisees and devices. Thin: parse,
call the service, answer; the unit of work (api.deps) commits or keeps the refusal."""
from __future__ import annotations

from fastapi import APIRouter, Query

from api.deps import CtxDep, PagingDep
from geo.fences import permitted_area
from supervision import accounts, devices, jurisdictions, supervisees
from supervision.models import Role, SuperviseeStatus
from core.schemas import Id, Page
from supervision.schemas import (
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


@router.post("/users", response_model=UserOut, status_code=201, tags=["users"])
def create_user(data: UserIn, ctx: CtxDep):
    return accounts.create_user(ctx=ctx, data=data)


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


@router.post("/supervisees", response_model=SuperviseeOut, status_code=201, tags=["supervisees"])
def create_supervisee(data: SuperviseeIn, ctx: CtxDep):
    out = supervisees.create_supervisee(ctx=ctx, data=data)
    # The codes mean a fence, in this transaction; an unknown code is a 422 and
    # the unit of work rolls the registration back with it.
    permitted_area.check_codes(ctx=ctx, codes=data.permitted_area_codes)
    permitted_area.sync_permitted_area(ctx=ctx, supervisee_id=out.id)
    return permitted_area.with_area_warnings(ctx, out)


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
