"""Writing the outbox: one ``alert_events`` row per change of an alert.

Every alert transition calls ``emit`` in the producer's transaction, so the
event commits together with the change; the relay (alerts/relay.py)
publishes it after commit. Kept apart from raising so that flapping and
escalation, which raising calls, can emit without importing it back.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from alerts.models import Alert, AlertEvent
from alerts.wire import event_payload


def emit(db: Session, alert: Alert, event_type: str, now: datetime, extra: dict[str, Any] | None = None) -> AlertEvent:
    """Write an outbox row for ``alert`` (published by the relay after commit)."""
    event = AlertEvent(alert_id=alert.id, office_id=alert.office_id, type=event_type,
                       payload=event_payload(alert, event_type, extra), created_at=now)
    db.add(event)
    return event
