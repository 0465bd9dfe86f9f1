"""Camera health: each camera's probe record, and offices whose cameras are largely offline.

Kept apart from cameras/models.py (the registry) because it is written by
the health job only, every few minutes, and holds no personal data: no
supervisee reference, so nothing for a purge to delete (no RETENTION).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

HEALTH_STATES = ("unknown", "online", "degraded", "offline")


class CameraHealth(Base):
    """The last probes of one camera (one row per camera, created when the job first sees it)."""

    __tablename__ = "camera_health"
    __table_args__ = (
        CheckConstraint("state IN ('unknown', 'online', 'degraded', 'offline')", name="state_valid"),
        Index("camera_health_due", "next_probe_at"),
    )

    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="unknown", server_default="unknown")
    state_since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_probe_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # its slot in the probe period
    last_probe_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_ok_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the last good frame
    latency_ms: Mapped[float | None] = mapped_column(Float)  # of the last good probe
    last_error: Mapped[str | None] = mapped_column(String(32))


class CameraOutage(Base):
    """An office with at least the configured share of its active cameras offline (open while cleared_at is null)."""

    __tablename__ = "camera_outages"
    __table_args__ = (
        Index("camera_outages_open", "office_id", unique=True, postgresql_where=text("cleared_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    offline: Mapped[int] = mapped_column(Integer)  # at the last evaluation
    total: Mapped[int] = mapped_column(Integer)
