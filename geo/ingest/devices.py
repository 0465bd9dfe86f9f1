"""Device authentication for the ingest routes (and only there).

Every device has its own 256-bit secret, stored as a keyed hash. Bearer
token for our native API; HTTP Basic (OwnTracks user + secret) for OwnTracks;
for OsmAnd, whose protocol has no auth field, the device ``id`` parameter is
the secret itself — which is why it is redacted from every log line.
A credential is accepted only by the protocol its device was registered
with, so a native app's bearer secret never works in a URL.
"""
from __future__ import annotations

from collections.abc import Callable
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


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """An active device as authentication reads it: its identity and its OwnTracks names."""

    identity: DeviceIdentity
    owntracks_user: str | None
    owntracks_device: str | None


# Everything authentication reads of a device; migration 0024's triggers watch these columns.
_COLUMNS = (Device.id, Device.supervisee_id, Supervisee.office_id, Supervisee.tier, Device.protocol, Supervisee.status,
            Device.kind, Device.positioning_grade, Device.owntracks_user, Device.owntracks_device)


def _find(db: Session, *where) -> DeviceRecord | None:
    row = db.execute(select(*_COLUMNS).join(Supervisee, Supervisee.id == Device.supervisee_id)
                     .where(*where, Device.active.is_(True))).first()
    return DeviceRecord(DeviceIdentity(*row[:8]), row[8], row[9]) if row else None


def find_by_credential(db: Session, credential_hash: str, protocol: str) -> DeviceRecord | None:
    """The active ``protocol`` device with this credential hash. The protocol is part of
    the lookup: a credential works only on its own device's route. A native bearer
    secret sent as an OsmAnd ``id`` (in a URL, hence in proxies' logs) is refused
    exactly like an unknown one, so the answer does not tell a prober that the secret
    exists."""
    return _find(db, Device.credential_hash == credential_hash, Device.protocol == protocol)


# (credential hash, protocol) -> the device: geo.ingest.device_cache.DeviceCache.lookup_in(db),
# find_by_credential answered from memory while nothing it reads has changed.
CredentialLookup = Callable[[str, str], DeviceRecord | None]


def _active(ident: DeviceIdentity) -> DeviceIdentity:
    # Monitoring ends with the term (Law art. 44): fixes of an ended or
    # suspended supervision are refused, not stored and judged.
    if ident.supervisee_status != "active":
        raise Forbidden(f"supervision is {ident.supervisee_status}: this device no longer reports")
    return ident


def _by_secret(device_key: str, secret: str, protocol: str, lookup: CredentialLookup) -> DeviceRecord:
    found = lookup(keyed_hash(device_key, secret), protocol) if secret else None
    if found is None:
        raise Unauthorized("unknown or inactive device credential")
    return found


def authenticate_secret(device_key: str, secret: str, *, protocol: str, lookup: CredentialLookup) -> DeviceIdentity:
    """A bearer token or OsmAnd id of a ``protocol`` device: the keyed hash finds it in one lookup."""
    return _active(_by_secret(device_key, secret, protocol, lookup).identity)


def authenticate_owntracks(device_key: str, user: str, password: str, device: str | None,
                           lookup: CredentialLookup) -> DeviceIdentity:
    found = _by_secret(device_key, password, DeviceProtocol.owntracks, lookup)
    # The secret decides; the names must also match what was registered, so a
    # leaked secret cannot be replayed under another OwnTracks identity.
    if found.owntracks_user != user or (device is not None and found.owntracks_device != device):
        raise Unauthorized("OwnTracks user/device does not match the credential")
    return _active(found.identity)


def identify_owntracks_topic(db: Session, user: str, device: str) -> DeviceIdentity:
    """The active OwnTracks device that owns the MQTT topic ``owntracks/<user>/<device>``.

    Over MQTT the broker has already checked the secret and that this login may
    publish only to its own topic (geo/ingest/mqtt/broker_files.py), so the topic
    names the device. Checked again here: a device disabled in zhijiao may still
    publish until the broker has reloaded its files.
    """
    found = _find(db, Device.protocol == DeviceProtocol.owntracks, Device.owntracks_user == user,
                  Device.owntracks_device == device)
    if found is None:
        raise Unauthorized("no active OwnTracks device publishes on this topic")
    return _active(found.identity)
