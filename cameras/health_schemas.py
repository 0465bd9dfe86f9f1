"""Camera health answers (cameras/health.py)."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class OfficeHealth(BaseModel):
    jurisdiction_id: int
    jurisdiction_name: str
    total: int  # active cameras
    unknown: int  # not probed yet
    online: int
    degraded: int
    offline: int
    offline_share: float
    outage_since: datetime | None  # an open outage: at least the configured share offline
    last_probe_at: datetime | None


class HealthSummary(BaseModel):
    items: list[OfficeHealth]


class CameraHealthOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    camera_id: int
    state: str
    state_since: datetime
    consecutive_failures: int
    last_probe_at: datetime | None
    last_ok_at: datetime | None  # the last good frame
    latency_ms: float | None
    last_error: str | None
    next_probe_at: datetime
