"""JT/T 808 terminals against zhijiao's devices: registration, authentication, identity.

The standard forces two things: the auth code travels **in clear**, from the
platform in 0x8100 and from the terminal in every 0x0102 (the RSA body
encryption it allows, properties bit 10, is rarely implemented and is refused
here); and registration carries no secret at all. So:

* The device's secret never leaves the server. The auth code is an HMAC of the
  device's stored credential hash under the server's device key, bound to the
  terminal phone number: it changes when the secret is rotated, and a leaked
  auth code tells nothing about the secret.
* Registration (0x0100) is open only for a device an officer registered in
  zhijiao with that phone number **and terminal id** (the 0x0100 field, read
  from the device's label): knowing the SIM number alone gets nothing. A
  registration naming another terminal id is answered 4 ("no such terminal"),
  exactly like an unknown phone number, so neither can be told apart (no
  enumeration); both are audited with the reason. The terminal id is no
  secret in the cryptographic sense: it is printed on the device and travels
  in clear, like the auth code; whoever sniffs the line can replay both, and
  the standard offers nothing against that (use a private APN or VPN). Once
  registered, the device registers only once: the first registration stamps
  ``jt808_registered_at``; a repeat within ``jt808_reregister_minutes`` (the
  terminal lost our answer) gets the same code; later ones are answered 3
  ("terminal already registered") until the secret is rotated. An unknown,
  disabled or ended device is answered 4 ("no such terminal"), alike.
* A registration while the device has a live authenticated connection from
  another address (in this process) is refused with 3 and audited: a second
  box with the same SIM number and label must not take the code while the
  real one reports. (Per process: with several server processes a live
  connection in another one is not seen.)
* Authentication compares in constant time and finds the device by phone number.

Each function runs in the caller's transaction; the listener commits.
"""
from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.principal import RequestContext
from geo.ingest.devices import DeviceIdentity
from geo.ingest.jt808.messages import REG_NO_TERMINAL, REG_OK, REG_TERMINAL_TAKEN, Registration
from supervision.models import Device, DeviceProtocol, Supervisee


def auth_code(device_key: str, phone: str, credential_hash: str) -> str:
    """The terminal's auth code: derived from the stored credential, never the secret itself."""
    mac = hmac.new(device_key.encode(), f"jt808-auth\x00{phone}\x00{credential_hash}".encode(), sha256)
    return mac.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Peer:
    """Where a connection comes from, for the audit trail."""

    address: str | None
    connection_id: str


def _row(db: Session, phone: str, *, lock: bool = False):
    query = (select(Device, Supervisee.office_id, Supervisee.tier, Supervisee.status)
             .join(Supervisee, Supervisee.id == Device.supervisee_id)
             .where(Device.jt808_phone == phone, Device.protocol == DeviceProtocol.jt808))
    return db.execute(query.with_for_update(of=Device) if lock else query).first()


def _usable(row) -> bool:
    return row is not None and row.Device.active and row.status == "active"


def _audit(db: Session, audit: AuditLog, peer: Peer, action: str, device_id: int | None, outcome: str,
           detail: dict) -> None:
    audit.record(db, RequestContext(principal=None, request_id=peer.connection_id, source_addr=peer.address),
                 action=action, object_type="device", object_id=device_id, outcome=outcome, detail=detail)


def _same_terminal(recorded: str | None, presented: str) -> bool:
    return recorded is not None and hmac.compare_digest(recorded.encode(), presented.strip().upper().encode("utf-8"))


def register(db: Session, *, device_key: str, audit: AuditLog, peer: Peer, phone: str, info: Registration,
             now: datetime, reregister: timedelta,
             live_elsewhere: Callable[[int], bool] = lambda _device_id: False) -> tuple[int, str | None]:
    """0x0100 → (0x8100 result, auth code on success). ``live_elsewhere(device_id)``:
    whether the device has an authenticated connection from another address."""
    row = _row(db, phone, lock=True)
    detail = {"terminal": phone, "terminal_id": info.terminal_id[:30], "model": info.model[:30],
              "manufacturer": info.manufacturer[:11]}
    if not _usable(row):
        _audit(db, audit, peer, "jt808.register", None, "refused",
               {**detail, "result": REG_NO_TERMINAL, "reason": "no such device"})
        return REG_NO_TERMINAL, None
    device = row.Device
    if not _same_terminal(device.jt808_terminal_id, info.terminal_id):
        _audit(db, audit, peer, "jt808.register", device.id, "refused",
               {**detail, "result": REG_NO_TERMINAL, "reason": "terminal id does not match the device's"})
        return REG_NO_TERMINAL, None
    if live_elsewhere(device.id):
        _audit(db, audit, peer, "jt808.register", device.id, "refused",
               {**detail, "result": REG_TERMINAL_TAKEN, "reason": "live connection from another address"})
        return REG_TERMINAL_TAKEN, None
    first = device.jt808_registered_at
    if first is not None and now - first > reregister:
        _audit(db, audit, peer, "jt808.register", device.id, "refused", {**detail, "result": REG_TERMINAL_TAKEN})
        return REG_TERMINAL_TAKEN, None
    if first is None:
        device.jt808_registered_at = now
    _audit(db, audit, peer, "jt808.register", device.id, "ok", detail)
    return REG_OK, auth_code(device_key, phone, device.credential_hash)


def authenticate(db: Session, *, device_key: str, audit: AuditLog, peer: Peer, phone: str,
                 code: str) -> DeviceIdentity | None:
    """0x0102: the device's identity when the auth code is its own, else None (audited either way)."""
    row = _row(db, phone)
    expected = auth_code(device_key, phone, row.Device.credential_hash) if row is not None else auth_code(
        device_key, phone, "")
    good = hmac.compare_digest(expected.encode(), code.encode("utf-8", "replace")) and _usable(row) \
        and row.Device.jt808_registered_at is not None
    device_id = row.Device.id if row is not None else None
    _audit(db, audit, peer, "jt808.authenticate", device_id if good else None, "ok" if good else "refused",
           {"terminal": phone})
    return identity(db, device_id) if good else None


def identity(db: Session, device_id: int | None) -> DeviceIdentity | None:
    """The device as ingest needs it, if it is still active and its supervision too (checked per report)."""
    if device_id is None:
        return None
    row = db.execute(
        select(Device.id, Device.supervisee_id, Supervisee.office_id, Supervisee.tier, Device.protocol,
               Supervisee.status, Device.kind, Device.positioning_grade)
        .join(Supervisee, Supervisee.id == Device.supervisee_id)
        .where(Device.id == device_id, Device.active.is_(True), Device.protocol == DeviceProtocol.jt808)).first()
    if row is None or row.status != "active":
        return None
    return DeviceIdentity(*row)
