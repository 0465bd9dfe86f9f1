"""The wire format of alert events: the one place that shapes what leaves the database.

One event goes through three forms, all built here so they cannot drift apart:

- the outbox ``payload`` (``event_payload``), stored with the event and sent to
  webhooks inside ``webhook_body``;
- the bus message (``bus_message``): the payload plus what the hub routes on
  (``office_path``);
- the client event (``client_event``): what a socket receives, live or
  replayed, with the routing fields stripped.

``alert_summary`` is the alert as every one of them shows it: never fence
geometry, never evidence positions.
"""
from __future__ import annotations

from typing import Any

from alerts.bus.base import encode_message
from alerts.models import Alert, AlertEvent


def alert_summary(alert: Alert) -> dict[str, Any]:
    """The event payload clients render; never fence geometry."""
    return {
        "id": alert.id, "supervisee_id": alert.supervisee_id, "office_id": alert.office_id, "kind": alert.kind,
        "severity": alert.severity, "state": alert.state, "title": alert.title,
        "occurred_at": alert.occurred_at.isoformat(), "evidence_count": alert.evidence_count,
        "escalation_level": alert.escalation_level, "assigned_to": alert.assigned_to,
        "cleared_at": alert.cleared_at.isoformat() if alert.cleared_at else None,
    }


def event_payload(alert: Alert, event_type: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stored payload of one outbox event."""
    return {"type": event_type, "alert": alert_summary(alert), **(extra or {})}


def bus_message(event: AlertEvent, office_path: str | None) -> dict[str, Any]:
    """The bus form of an event: what the hub routes on (office_path) and forwards.

    The replay path builds the same dict from the table, so a client cannot tell
    a replayed event from a live one.
    """
    payload = dict(event.payload or {})
    message = {
        "seq": event.seq, "event": event.type, "alert_id": event.alert_id, "office_id": event.office_id,
        # No path means no office: routed to nobody (fail closed) rather than to everybody.
        "office_path": office_path or "",
        "alert": payload.pop("alert", None),
        "detail": {k: v for k, v in payload.items() if k != "type"},
    }
    try:
        encode_message(message)
    except ValueError:
        # Over the bus size cap (a huge detail): send the id only; clients fetch the rest.
        message.update(alert={"id": event.alert_id}, detail={}, truncated=True)
    return message


def client_event(message: dict[str, Any]) -> dict[str, Any]:
    """What a client receives for one event, live or replayed (routing fields stripped)."""
    out = {"type": "event", "seq": message["seq"], "event": message["event"], "alert_id": message["alert_id"],
           "alert": message.get("alert"), "detail": message.get("detail") or {}}
    if message.get("truncated"):
        out["truncated"] = True
    return out


def replayed_event(event: AlertEvent) -> dict[str, Any]:
    """The client event of a stored event (resume): identical to the live one."""
    return client_event(bus_message(event, None))


def webhook_body(event: AlertEvent) -> dict[str, Any]:
    """The JSON body POSTed to a webhook for one event (receivers de-duplicate by ``id``)."""
    return {
        "id": event.id, "seq": event.seq, "type": event.type, "alert_id": event.alert_id,
        "office_id": event.office_id, "created_at": event.created_at.isoformat(), "payload": event.payload,
    }
