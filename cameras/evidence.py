"""Cameras as alert evidence: attached when a violation alert is created, frames grabbed later.

``attach_cameras`` runs inside ``alerts.raising.raise_alert`` (through the
alerts hook registry; api.app registers it), so the covering cameras commit
with the alert: one evidence row naming them, and one pending
``camera_snapshots`` row per camera (nearest first, at most K) that the
snapshot job grabs afterwards. Nothing here touches the network.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from alerts.facts import Evidence
from alerts.models import Alert, AlertKind
from alerts.raising import add_evidence
from cameras.coverage import CameraHit, covering_cameras
from cameras.models import CameraSnapshot
from geo.datum import to_wgs84

# Alerts about where a person was; integrity, device and check-in alerts have no place a camera could show.
VIOLATION_KINDS = frozenset({AlertKind.left_permitted_area, AlertKind.outside_leave_destination,
                             AlertKind.entered_exclusion_zone, AlertKind.curfew_breach})


def evidence_position(evidence: Sequence[Evidence]) -> tuple[float, float, float, datetime | None] | None:
    """(lon, lat WGS-84, accuracy m, time) of the earliest evidence with a position: where the violation began."""
    located = [e for e in evidence if e.lon is not None and e.lat is not None]
    if not located:
        return None
    first = min(located, key=lambda e: (e.t is None, e.t or datetime.min))
    lon, lat = first.lon, first.lat
    if first.datum not in (None, "wgs84"):
        lon, lat = to_wgs84(lon, lat, first.datum)
    return float(lon), float(lat), float(first.accuracy_m or 0.0), first.t


def camera_evidence(hits: Sequence[CameraHit], t: datetime | None) -> Evidence:
    return Evidence(t=t, detail={"cameras": [{"camera_id": h.id, "code": h.code, "name": h.name,
                                              "distance_m": round(h.distance_m, 1)} for h in hits]})


def request_snapshots(db: Session, *, alert: Alert | None, hits: Sequence[CameraHit], around_at: datetime,
                      now: datetime, requested_by: int | None = None) -> list[CameraSnapshot]:
    """One pending grab per camera (the snapshot job takes them)."""
    rows = [CameraSnapshot(camera_id=h.id, alert_id=alert.id if alert else None,
                           supervisee_id=alert.supervisee_id if alert else None, requested_by=requested_by,
                           around_at=around_at, distance_m=h.distance_m, state="pending", attempts=0,
                           media_ids=[], requested_at=now) for h in hits]
    db.add_all(rows)
    db.flush()
    return rows


@dataclass(frozen=True)
class AttachCameras:
    """The alerts hook: ``per_alert`` is ``ZHIJIAO_CAMERA_SNAPSHOTS_PER_ALERT``."""

    per_alert: int

    def __call__(self, db: Session, alert: Alert, evidence: Sequence[Evidence], now: datetime) -> None:
        if alert.kind not in VIOLATION_KINDS or self.per_alert <= 0:
            return
        where = evidence_position(evidence)
        if where is None:
            return
        lon, lat, accuracy, t = where
        hits = covering_cameras(db, lon=lon, lat=lat, accuracy_m=accuracy, limit=self.per_alert)
        if not hits:
            return
        add_evidence(db, alert, [camera_evidence(hits, t)], now=now, announce=False)
        request_snapshots(db, alert=alert, hits=hits, around_at=t or alert.occurred_at, now=now)
