"""Administrative areas (行政区划) and geofences, stored in WGS-84 (SRID 4326)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class AdminArea(Base):
    __tablename__ = "admin_areas"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)
    # What the file said, before datum conversion: kept as evidence.
    source_datum: Mapped[str] = mapped_column(String(8))
    source: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Fence(Base):
    """A geofence's identity. Its geometry and rules live in versions."""

    __tablename__ = "fences"
    __table_args__ = (
        CheckConstraint("kind IN ('permitted', 'exclusion', 'curfew', 'leave_destination')", name="kind_valid"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    label: Mapped[str] = mapped_column(String(200))
    # Exclusion zones can reveal a victim's address: never shown to the supervisee.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    # Set by whatever created it (a leave approval, a prohibition order…).
    source: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FenceVersion(Base):
    """One version of a fence: valid in [valid_from, valid_to). An edit closes the
    current version and opens the next, so a fix is judged by the version in
    force at the fix's time, and every decision names it."""

    __tablename__ = "fence_versions"
    __table_args__ = (
        UniqueConstraint("fence_id", "version"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="window_order"),
        CheckConstraint("radius_m IS NULL OR radius_m > 0", name="radius_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    fence_id: Mapped[int] = mapped_column(ForeignKey("fences.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # WGS-84. A circle is its centre point plus radius_m; anything else a (Multi)Polygon.
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False)
    radius_m: Mapped[float | None] = mapped_column(Float)
    datum: Mapped[str] = mapped_column(String(8))
    raw: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    curfew: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    min_fixes: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    min_seconds: Mapped[float] = mapped_column(Float, default=60.0, server_default="60")
    # Stamped by a trigger on every insert/update, under a lock so stamps
    # follow commit order: each server process reloads versions with a gen
    # above the last it saw, before judging a batch (see geo/fences/cache.py).
    gen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", index=True)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
