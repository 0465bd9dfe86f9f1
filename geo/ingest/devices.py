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
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Forbidden, Unauthorized
from core.security import keyed_hash
from supervision.models import Device, DeviceProtocol, Supervisee

if TYPE_CHECKING:
    from geo.ingest.device_cache import CachedDevice


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


class CredentialLookup(Protocol):
    """What the ingest routes authenticate against: geo.ingest.device_cache.DeviceCache, synced
    in the request's transaction (``lookup(credential_hash, protocol)``)."""

    def __call__(self, credential_hash: str, protocol: str) -> CachedDevice | None: ...


def authenticate_secret(db: Session, device_key: str, secret: str, *, protocol: str,
                        lookup: CredentialLookup | None = None) -> DeviceIdentity:
    """A bearer token or OsmAnd id of a ``protocol`` device: the keyed hash finds it in one lookup
    (from the credential cache when one is given)."""
    if lookup is not None:
        found = lookup(keyed_hash(device_key, secret), protocol) if secret else None
        ident = found.identity if found else None
    else:
        ident = _lookup(db, device_key, secret, protocol)
    if ident is None:
        raise Unauthorized("unknown or inactive device credential")
    return _active(ident)


def authenticate_owntracks(db: Session, device_key: str, user: str, password: str, device: str | None,
                           lookup: CredentialLookup | None = None) -> DeviceIdentity:
    if lookup is not None:
        found = lookup(keyed_hash(device_key, password), DeviceProtocol.owntracks) if password else None
        ident, names = (found.identity, (found.owntracks_user, found.owntracks_device)) if found else (None, None)
    else:
        ident = _lookup(db, device_key, password, DeviceProtocol.owntracks)
        names = ident and tuple(db.execute(select(Device.owntracks_user, Device.owntracks_device)
                                           .where(Device.id == ident.device_id)).one())
    if ident is None:
        raise Unauthorized("unknown or inactive device credential")
    # The secret decides; the names must also match what was registered, so a
    # leaked secret cannot be replayed under another OwnTracks identity.
    if names[0] != user or (device is not None and names[1] != device):
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
