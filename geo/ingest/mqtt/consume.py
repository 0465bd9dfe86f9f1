"""One batch of MQTT messages through the ingest pipeline, in the caller's transaction.

A batch holds messages of many devices. Each device's messages are decoded
with the OwnTracks decoder (the one the HTTP route uses: the payload is the
same JSON, and the topic's user/device stand for the X-Limit-U/D headers)
and run through ``geo.ingest.pipeline.ingest`` as one batch of that device,
inside a savepoint: a device whose batch is refused (a conflicting fix, an
ended supervision) loses only its own messages, never the others'.

Nothing is silently dropped: a message that cannot be stored (bad topic, bad
JSON, unknown or disabled device, refused by the pipeline) is logged and
written to the audit trail as ``ingest.mqtt`` with outcome ``refused``, in
the batch's transaction; it is then acknowledged like the others, because
MQTT has no way to say "no" to a publisher, and a message the broker kept
redelivering would block the queue behind it for ever (as OwnTracks' own
HTTP queue would).

Redelivered messages (a worker killed after the commit, before its PUBACKs
left) are deduplicated by the pipeline: an OwnTracks fix is keyed by its
device and time, so the second copy is counted as a duplicate, not stored.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.errors import ServiceError
from core.principal import RequestContext
from core.settings import Settings
from geo.fences.cache import FenceCache
from geo.ingest.decoders import DeviceMessage, owntracks
from geo.ingest.devices import DeviceIdentity, identify_owntracks_topic
from geo.ingest.errors import DecodeError
from geo.ingest.fix import DecodedFix
from geo.ingest.pipeline import IngestContext, ingest

log = logging.getLogger("zhijiao.mqtt")
MQTT_REQUEST = RequestContext(principal=None, source_addr="mqtt")


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """One PUBLISH as the broker delivered it; ``mid``/``qos``/``session`` serve the acknowledgement."""

    topic: str
    payload: bytes
    mid: int = 0
    qos: int = 0
    session: int = 0  # which connection delivered it: a message id is only valid on its own


@dataclass
class BatchOutcome:
    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: int = 0


@dataclass
class _Deps:
    db: Session
    now: datetime
    settings: Settings
    fences: FenceCache
    audit: AuditLog


def device_of(topic: str) -> tuple[str, str] | None:
    """(user, device) of ``owntracks/<user>/<device>``; None for any other shape."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != "owntracks" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def ingest_messages(db: Session, messages: list[MqttMessage], *, now: datetime, settings: Settings,
                    fences: FenceCache, audit: AuditLog) -> BatchOutcome:
    """Store and judge a batch; the caller commits, then acknowledges every message."""
    deps = _Deps(db, now, settings, fences, audit)
    outcome = BatchOutcome(messages=len(messages))
    by_device: dict[tuple[str, str], list[MqttMessage]] = defaultdict(list)
    for m in messages:
        names = device_of(m.topic)
        if names is None:
            _refuse(deps, outcome, m.topic, None, "not an OwnTracks device topic (owntracks/<user>/<device>)")
        else:
            by_device[names].append(m)
    devices = []
    for names, group in by_device.items():
        try:
            devices.append((identify_owntracks_topic(db, *names), names, group))
        except ServiceError as exc:
            for m in group:
                _refuse(deps, outcome, m.topic, None, exc.message)
    # One lock order for every batch (the pipeline locks per supervisee), so
    # two workers sharing a broker's load never wait on each other in a circle.
    for ident, names, group in sorted(devices, key=lambda d: (d[0].supervisee_id, d[1])):
        _ingest_device(deps, outcome, ident, names, group)
    return outcome


def _ingest_device(deps: _Deps, outcome: BatchOutcome, ident: DeviceIdentity, names: tuple[str, str],
                   group: list[MqttMessage]) -> None:
    headers = {"X-Limit-U": names[0], "X-Limit-D": names[1]}
    fixes: list[DecodedFix] = []
    for m in group:
        try:
            fixes += owntracks.decode(DeviceMessage(body=m.payload, content_type="application/json",
                                                    headers=headers)).fixes
        except DecodeError as exc:
            _refuse(deps, outcome, m.topic, ident.device_id, f"{exc.field}: {exc.message}")
    if not fixes:
        return
    ctx = IngestContext(db=deps.db, now=deps.now, settings=deps.settings, device=ident, fences=deps.fences)
    try:
        with deps.db.begin_nested():
            result = ingest(fixes, ctx)
    except ServiceError as exc:
        _refuse(deps, outcome, group[0].topic, ident.device_id, exc.message, count=len(group))
        return
    outcome.stored += result.stored
    outcome.duplicates += result.duplicates
    if result.refused:
        # Positioning fixes outside every order (Law art. 29): not stored, audited like any refusal.
        _refuse(deps, outcome, group[0].topic, ident.device_id, result.refused_reason or "refused",
                count=result.refused)


def _refuse(deps: _Deps, outcome: BatchOutcome, topic: str, device_id: int | None, why: str, *,
            count: int = 1) -> None:
    outcome.refused += count
    refuse_message(deps.db, deps.audit, topic, why, device_id=device_id, count=count)


def refuse_message(db: Session, audit: AuditLog, topic: str, why: str, *, device_id: int | None = None,
                   count: int = 1) -> None:
    """Log and audit messages that will be acknowledged without being stored."""
    log.warning("mqtt: refused %d message(s) on %r: %s", count, topic[:200], why[:300])
    audit.record(db, MQTT_REQUEST, action="ingest.mqtt", object_type="device", object_id=device_id,
                 outcome="refused", detail={"topic": topic[:200], "messages": count, "message": why[:500]})
