"""Devices: each bound to one supervisee, each with its own credential.

The secret is shown once at creation (or rotation) and stored only as a
keyed hash. Device credentials are accepted by the ingest routes alone.

Registering a device and rotating its secret are an officer's (or manager's)
acts: whoever holds the secret can send fixes as the supervisee, so an
administrator, who reads no location data, may list devices, rename and
disable them, but never obtain a secret.
"""
from __future__ import annotations

from sqlalchemy import func, select

from core.context import Ctx
from core.errors import Conflict, Invalid, NotFound
from core.security import broker_password_hash, keyed_hash, new_device_secret
from supervision.models import Device, DeviceProtocol, Role, Supervisee
from core.schemas import Page
from supervision.schemas import DeviceCreated, DeviceIn, DeviceOut, DeviceUpdate
from supervision.scope import ACCOUNT_ADMINS, device_owner_clause, require_role

DEVICE_OFFICERS = {Role.officer, Role.manager}  # may register devices and rotate secrets
DEVICE_MANAGERS = ACCOUNT_ADMINS | DEVICE_OFFICERS  # may also rename and disable


def _scoped_query(ctx: Ctx):
    return select(Device).join(Supervisee, Device.supervisee_id == Supervisee.id).where(device_owner_clause(ctx.principal))


def list_devices(*, ctx: Ctx, limit: int, offset: int, supervisee_id: int | None = None) -> Page[DeviceOut]:
    require_role(ctx.principal, DEVICE_MANAGERS | {Role.auditor}, "list devices")
    query = _scoped_query(ctx)
    if supervisee_id is not None:
        query = query.where(Device.supervisee_id == supervisee_id)
    total = ctx.db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = ctx.db.scalars(query.order_by(Device.id).limit(limit).offset(offset))
    return Page(items=[DeviceOut.model_validate(d) for d in rows], total=total, limit=limit, offset=offset)


def _get_scoped(ctx: Ctx, device_id: int) -> Device:
    row = ctx.db.scalar(_scoped_query(ctx).where(Device.id == device_id))
    if row is None:
        raise NotFound()
    return row


def get_device(*, ctx: Ctx, device_id: int) -> DeviceOut:
    require_role(ctx.principal, DEVICE_MANAGERS | {Role.auditor}, "read devices")
    return DeviceOut.model_validate(_get_scoped(ctx, device_id))


def create_device(*, ctx: Ctx, data: DeviceIn) -> DeviceCreated:
    require_role(ctx.principal, DEVICE_OFFICERS, "register devices")
    owner = ctx.db.scalar(select(Supervisee.id).where(Supervisee.id == data.supervisee_id, device_owner_clause(ctx.principal)))
    if owner is None:
        raise Invalid("supervisee_id does not name a supervisee in your jurisdiction", field="supervisee_id")
    if data.owntracks_user and ctx.db.scalar(select(Device.id).where(
            Device.owntracks_user == data.owntracks_user, Device.owntracks_device == data.owntracks_device)) is not None:
        raise Conflict("this OwnTracks user/device pair is already registered", field="owntracks_device")
    if data.jt808_phone and ctx.db.scalar(select(Device.id).where(Device.jt808_phone == data.jt808_phone)) is not None:
        raise Conflict("a device with this JT/T 808 terminal phone number is already registered", field="jt808_phone")
    secret = new_device_secret()
    row = Device(supervisee_id=data.supervisee_id, name=data.name, kind=data.kind, protocol=data.protocol,
                 positioning_grade=data.positioning_grade,
                 owntracks_user=data.owntracks_user, owntracks_device=data.owntracks_device,
                 jt808_phone=data.jt808_phone, jt808_terminal_id=data.jt808_terminal_id)
    _set_secret(ctx, row, secret)
    ctx.db.add(row)
    ctx.db.flush()
    ctx.db.refresh(row)
    ctx.record("device.create", "device", row.id, detail={"supervisee_id": row.supervisee_id, "protocol": row.protocol})
    return DeviceCreated(**DeviceOut.model_validate(row).model_dump(), secret=secret)


def _set_secret(ctx: Ctx, row: Device, secret: str) -> None:
    row.credential_hash = keyed_hash(ctx.settings.auth.device_key, secret)
    # OwnTracks devices may also log in to the MQTT broker with the same secret.
    row.mqtt_password_hash = broker_password_hash(secret) if row.protocol == DeviceProtocol.owntracks else None


def update_device(*, ctx: Ctx, device_id: int, data: DeviceUpdate) -> DeviceOut | DeviceCreated:
    require_role(ctx.principal, DEVICE_MANAGERS, "change devices")
    row = _get_scoped(ctx, device_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("rotate_secret"):
        require_role(ctx.principal, DEVICE_OFFICERS, "rotate device secrets")
    for name in ("name", "active"):
        if name in changes:
            setattr(row, name, changes[name])
    secret = None
    if changes.get("rotate_secret"):
        secret = new_device_secret()
        _set_secret(ctx, row, secret)
        row.jt808_registered_at = None  # a JT/T 808 terminal must register again for its new auth code
    ctx.db.flush()
    ctx.record("device.update", "device", row.id, detail={"fields": sorted(changes)})
    out = DeviceOut.model_validate(row)
    return DeviceCreated(**out.model_dump(), secret=secret) if secret else out
