"""Device authentication for the ingest routes (and only there).

Every device has its own 256-bit secret, stored as a keyed hash. Bearer
token for our native API; HTTP Basic (OwnTracks user + secret) for OwnTracks;
for OsmAnd, whose protocol has no auth field, the device ``id`` parameter is
the secret itself — which is why it is redacted from every log line.
A credential is accepted only by the protocol its device was registered
with, so a native app's bearer secret never works in a URL.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Forbidden, Unauthorized
from core.security import keyed_hash
from supervision.models import Device, DeviceProtocol, Supervisee


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    device_id: int | None  # None for an officer's GPX import
    supervisee_id: int
    office_id: int
    tier: str
    protocol: str
    supervisee_status: str
    # Device kind and the office's positioning-grade mark: whether its fixes
    # need an electronic-positioning order (geo.ingest.purpose).
    kind: str = "phone"
    positioning_grade: bool = False


def _lookup(db: Session, device_key: str, secret: str, protocol: str) -> DeviceIdentity | None:
    # The protocol is part of the lookup: a credential works only on its own
    # device's route. A native bearer secret sent as an OsmAnd ``id`` (in a URL,
    # hence in proxies' logs) is refused exactly like an unknown one, so the
    # answer does not tell a prober that the secret exists.
    if not secret:
        return None
    return _identity(db, Device.credential_hash == keyed_hash(device_key, secret), Device.protocol == protocol)


def _identity(db: Session, *where) -> DeviceIdentity | None:
    row = db.execute(
        select(Device.id, Device.supervisee_id, Supervisee.office_id, Supervisee.tier, Device.protocol, Supervisee.status,
               Device.kind, Device.positioning_grade)
        .join(Supervisee, Supervisee.id == Device.supervisee_id)
        .where(*where, Device.active.is_(True))
    ).first()
    return DeviceIdentity(*row) if row else None


def _active(ident: DeviceIdentity) -> DeviceIdentity:
    # Monitoring ends with the term (Law art. 44): fixes of an ended or
    # suspended supervision are refused, not stored and judged.
    if ident.supervisee_status != "active":
        raise Forbidden(f"supervision is {ident.supervisee_status}: this device no longer reports")
    return ident


def authenticate_secret(db: Session, device_key: str, secret: str, *, protocol: str) -> DeviceIdentity:
    """A bearer token or OsmAnd id of a ``protocol`` device: the keyed hash finds it in one lookup."""
    ident = _lookup(db, device_key, secret, protocol)
    if ident is None:
        raise Unauthorized("unknown or inactive device credential")
    return _active(ident)


def authenticate_owntracks(db: Session, device_key: str, user: str, password: str, device: str | None) -> DeviceIdentity:
    ident = _lookup(db, device_key, password, DeviceProtocol.owntracks)
    if ident is None:
        raise Unauthorized("unknown or inactive device credential")
    row = db.execute(select(Device.owntracks_user, Device.owntracks_device).where(Device.id == ident.device_id)).one()
    # The secret decides; the names must also match what was registered, so a
    # leaked secret cannot be replayed under another OwnTracks identity.
    if row.owntracks_user != user or (device is not None and row.owntracks_device != device):
        raise Unauthorized("OwnTracks user/device does not match the credential")
    return _active(ident)


def identify_owntracks_topic(db: Session, user: str, device: str) -> DeviceIdentity:
    """The active OwnTracks device that owns the MQTT topic ``owntracks/<user>/<device>``.

    Over MQTT the broker has already checked the secret and that this login may
    publish only to its own topic (geo/ingest/mqtt/broker_files.py), so the topic
    names the device. Checked again here: a device disabled in zhijiao may still
    publish until the broker has reloaded its files.
    """
    ident = _identity(db, Device.protocol == DeviceProtocol.owntracks, Device.owntracks_user == user,
                      Device.owntracks_device == device)
    if ident is None:
        raise Unauthorized("no active OwnTracks device publishes on this topic")
    return _active(ident)
