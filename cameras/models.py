"""Cameras, their sealed credentials, and the frames grabbed from them (camera_snapshots).

A camera is stored in WGS-84 (``lon``/``lat`` for the pure coverage function,
``geog`` for the PostGIS candidate index) whatever datum it was registered in.
Its stream URL holds no credentials (the URL check refuses ``user:pass@``);
they live sealed in ``camera_credentials`` so that no query of the registry,
no answer and no log line can carry them by accident.
"""
from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

# The coverage candidates come from an index query of this radius (plus the
# fix's accuracy), so no camera may claim a longer range: beyond ~300 m no
# camera identifies a person (IEC 62676-4), 1 km leaves room for observation.
MAX_RANGE_M = 1000.0
CAMERA_STATUSES = ("active", "disabled")
SNAPSHOT_STATES = ("pending", "done", "failed")


class Camera(Base):
    __tablename__ = "cameras"
    __table_args__ = (
        CheckConstraint("heading >= 0 AND heading < 360", name="heading_valid"),
        CheckConstraint("fov > 0 AND fov <= 360", name="fov_valid"),
        CheckConstraint(f"range_m > 0 AND range_m <= {MAX_RANGE_M:g}", name="range_valid"),
        CheckConstraint("status IN ('active', 'disabled')", name="status_valid"),
        Index("cameras_geog", "geog", postgresql_using="gist"),
        Index("cameras_jurisdiction", "jurisdiction_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # the public-security camera id
    name: Mapped[str] = mapped_column(String(200))
    lon: Mapped[float] = mapped_column(Float)  # WGS-84
    lat: Mapped[float] = mapped_column(Float)
    geog = mapped_column(Geography("POINT", srid=4326, spatial_index=False), nullable=False)
    source_datum: Mapped[str] = mapped_column(String(8))  # as registered: evidence of the conversion
    heading: Mapped[float] = mapped_column(Float)  # degrees clockwise from north
    fov: Mapped[float] = mapped_column(Float)  # horizontal field of view, degrees; 360 = dome
    range_m: Mapped[float] = mapped_column(Float)
    height_m: Mapped[float | None] = mapped_column(Float)
    stream_url: Mapped[str] = mapped_column(Text)  # checked, without credentials
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CameraCredential(Base):
    """A camera's user name and password, sealed with the media key (core.media.seal)."""

    __tablename__ = "camera_credentials"

    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CameraSnapshot(Base):
    """One grab request to one camera (for an alert, or on demand) and the frames it got.

    Pending rows are written in the alert's transaction; the snapshot job grabs
    them later, so a hung camera never holds up ingest or the alert.
    """

    __tablename__ = "camera_snapshots"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'done', 'failed')", name="state_valid"),
        Index("camera_snapshots_pending", "requested_at", postgresql_where="state = 'pending'"),
        Index("camera_snapshots_alert", "alert_id"),
        Index("camera_snapshots_supervisee", "supervisee_id"),
        Index("camera_snapshots_camera", "camera_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    # Whose violation it shows (from the alert): the purge deletes by this.
    supervisee_id: Mapped[int | None] = mapped_column(ForeignKey("supervisees.id"))
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the alert asked
    around_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the moment the frames should show
    distance_m: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(String(32))
    media_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list, server_default="{}")
    elapsed_ms: Mapped[float | None] = mapped_column(Float)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
