"""Which alerts and alert events a caller may see, built on ``supervision.scope.office_scope``.

Alerts are scoped by the office they were raised in (fixed at creation):
officers see their office subtree, managers and auditors their bureau.
Supervisees and admins see none, because alerts carry location evidence.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement

from alerts.models import Alert, AlertEvent
from core.principal import Principal
from supervision.scope import STAFF_READERS, office_scope


def alert_clause(principal: Principal) -> ColumnElement[bool]:
    """Rows of ``alerts`` this caller may read."""
    return office_scope(principal, Alert.office_id)


def alert_event_clause(principal: Principal) -> ColumnElement[bool]:
    """Outbox events (websocket replay): the same rule as ``alert_clause``."""
    return office_scope(principal, AlertEvent.office_id)


def alert_path_visible(principal: Principal, office_path: str) -> bool:
    """``alert_clause`` for one live event, decided in memory by the websocket hub
    from the office path the relay attached (no query per event and socket).
    Escalations need no rule of their own: a manager's bureau contains the office."""
    return principal.role in STAFF_READERS and office_path.startswith(principal.jurisdiction_path)
