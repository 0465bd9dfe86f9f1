"""Location fixes and the per-fence persistence state derived from them.

Fix history is indexed by (supervisee, time) with a btree and by time with a
BRIN index: no GiST on every point, because every query over fixes is "this
person, this period". Positions are plain WGS-84 lon/lat columns; the raw
input (any datum) is kept as evidence. Monthly partitions were considered
and left out for now: the (device, dedup_key) uniqueness that idempotent
ingest relies on would then have to include the time column.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Fix(Base):
    __tablename__ = "fixes"
    __table_args__ = (
        Index("fixes_dedup", "device_id", "dedup_key", unique=True),
        # Imports (GPX) have no device: dedup per supervisee instead.
        Index("fixes_dedup_imported", "supervisee_id", "dedup_key", unique=True,
              postgresql_where=text("device_id IS NULL")),
        Index("fixes_supervisee_time", "supervisee_id", "t"),
        Index("fixes_time_brin", "t", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("supervisees.id"))
    device_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("devices.id"))
    # Device + client fix id, or device + "t:<time>" when the protocol has none.
    dedup_key: Mapped[str] = mapped_column(String(120))
    fingerprint: Mapped[str] = mapped_column(String(64))
    t: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lon: Mapped[float] = mapped_column(Float)  # WGS-84
    lat: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    heading_deg: Mapped[float | None] = mapped_column(Float)
    altitude_m: Mapped[float | None] = mapped_column(Float)
    battery_pct: Mapped[float | None] = mapped_column(Float)
    datum: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str] = mapped_column(String(16))
    raw: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Suspicion flags (future, speed, accuracy, mock, tamper): a flagged fix is
    # kept as evidence but excluded from compliance decisions.
    flags: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list, server_default="{}")
    excluded: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # [[fence_id, version, decision, status], ...]: what each fence version said.
    decisions: Mapped[list[list[int]]] = mapped_column(JSONB, default=list, server_default="[]")
    # The legal basis the fix is held under (Law art. 29, PIPL art. 6): "order:<id>"
    # (an electronic-positioning order in force at the fix's time) or 信息化核查
    # (the ordinary phone check). No default: the ingest pipeline sets it per fix
    # (geo.ingest.purpose), so no writer can store a fix without saying why.
    purpose: Mapped[str] = mapped_column(String(40))


class PositioningWindow(Base):
    """When electronic positioning of a supervisee is lawful: one row per order.

    Geo owns this table and never imports orders: the orders service writes
    it (approval, extension, termination), ingest reads it in its prefetch
    round trip. The window is [starts_at, ends_at): a fix at ends_at is already
    outside the order.
    """

    __tablename__ = "positioning_windows"

    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("supervisees.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FenceFold(Base):
    """Persistence state of one supervisee + fence: recent snapshots of the
    fold (geo.engine.persistence), so a late fix replays from the newest
    snapshot before it instead of from the beginning."""

    __tablename__ = "fence_folds"

    fence_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("fences.id"), primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(BigInteger, index=True)
    snapshots: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ViolationEpisode(Base):
    """One period of a persisting violation of one fence, as the fold computed it.

    Alerts are raised from episodes; an episode that late data disproves is
    marked withdrawn (never deleted)."""

    __tablename__ = "violation_episodes"
    __table_args__ = (Index("episodes_track", "fence_id", "opened_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(BigInteger, index=True)
    fence_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("fences.id"))
    kind: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)  # ordinal in the fence's fold
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    evidence_fix_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    closing_fix_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list, server_default="{}")
    alert_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SuperviseeSignal(Base):
    """Last contact per supervisee and device state, for silence and device alerts."""

    __tablename__ = "supervisee_signal"

    supervisee_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("supervisees.id"), primary_key=True)
    last_fix_t: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_fix_lon: Mapped[float | None] = mapped_column(Float)
    last_fix_lat: Mapped[float | None] = mapped_column(Float)
    last_received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    battery_pct: Mapped[float | None] = mapped_column(Float)
    fixes_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    silence_alerted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DeviceAuthGeneration(Base):
    """One row: a value that changes whenever anything a device's authentication reads changes.

    Triggers (migration 0024) set it from a sequence on every real change to a device's
    credential, protocol, kind, owner or activity, and to a supervision's status,
    tier or office. The ingest routes' in-process credential cache
    (geo.ingest.device_cache) reads it in the request's own transaction and
    drops every entry when it moved, so a disabled or rotated device is refused
    from the first request after its change commits — never "within a minute".
    A sequence, not ``gen + 1``: a rolled-back change must never give a value a
    later change will give again.
    """

    __tablename__ = "device_auth_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    gen: Mapped[int] = mapped_column(BigInteger)
