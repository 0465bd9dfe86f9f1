"""Shared by the alert lifecycle tests: raise alerts the way producers do."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.facts import Evidence
from alerts.models import Alert, AlertEvent, AlertKind
from alerts.raising import raise_alert
from core.settings import get_settings


def make_alert(db: Session, world, clock, who: str = "a", *, kind: AlertKind = AlertKind.left_permitted_area,
               cause: str | None = None, now: datetime | None = None, evidence: int = 1, **kw) -> Alert:
    sup = world.supervisees[who]
    now = now or clock.now()
    ev = [Evidence(t=now, lon=118.9 + i * 0.001, lat=28.9, accuracy_m=20.0, datum="wgs84",
                   detail={"role": "opening", "geometry": {"type": "Polygon"}}) for i in range(evidence)]
    kw.setdefault("flap_limit", get_settings().alerts.flap_limit_per_hour)
    alert, _ = raise_alert(db, now=now, supervisee_id=sup.id, office_id=sup.office_id, tier=sup.tier, kind=kind,
                           cause=cause or f"test:{kind}", title=f"{kind} test", occurred_at=now, evidence=ev, **kw)
    db.flush()
    return alert


def events(db: Session, alert_id: int) -> list[AlertEvent]:
    return list(db.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)))


def event_types(db: Session, alert_id: int) -> list[str]:
    return [e.type for e in events(db, alert_id)]
