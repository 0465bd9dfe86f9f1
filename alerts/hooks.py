"""What packages above alerts may add to a new alert, in the alert's own transaction.

Alerts must not import the packages that enrich them (cameras attach the
cameras that can see a violation), so they register here from the
composition root (``api.app``) and ``raising.raise_alert`` calls every hook
once, right after a new alert and its first evidence are written and before
its "created" event, so the event already counts whatever a hook added.
A hook must not commit, and must keep to cheap database work: the slow part
(grabbing frames) is someone else's job.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from alerts.facts import Evidence
from alerts.models import Alert

AlertCreatedHook = Callable[[Session, Alert, Sequence[Evidence], datetime], None]

# By name: an app factory run again (tests build many apps) replaces its hook
# instead of adding a second copy.
_created: dict[str, AlertCreatedHook] = {}


def on_alert_created(name: str, hook: AlertCreatedHook) -> None:
    """Register ``hook`` under ``name`` (replacing an earlier one of that name)."""
    _created[name] = hook


def run_created(db: Session, alert: Alert, evidence: Sequence[Evidence], now: datetime) -> None:
    for hook in tuple(_created.values()):
        hook(db, alert, evidence, now)
