"""Core domain tables: jurisdictions, users, supervisees, devices.

Geometries are WGS-84 (SRID 4326). Tables that grow with time use bigint
keys. Enumerations are text columns with CHECK constraints rather than
PostgreSQL enum types, so adding a value is a one-line migration.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base


class JurisdictionLevel(StrEnum):
    bureau = "bureau"  # 区县司法局
    office = "office"  # 司法所
    grid = "grid"  # 网格


class Role(StrEnum):
    officer = "officer"
    manager = "manager"
    auditor = "auditor"
    admin = "admin"
    supervisee = "supervisee"


class SentenceType(StrEnum):
    control = "control"  # 管制
    probation = "probation"  # 缓刑
    parole = "parole"  # 假释
    temporary_release = "temporary_release"  # 暂予监外执行


class Tier(StrEnum):
    strict = "strict"  # 严管
    ordinary = "ordinary"  # 普管
    lenient = "lenient"  # 宽管


class SuperviseeStatus(StrEnum):
    active = "active"
    suspended = "suspended"
    ended = "ended"


class DeviceKind(StrEnum):
    phone = "phone"
    tracker = "tracker"


class DeviceProtocol(StrEnum):
    native = "native"
    osmand = "osmand"
    owntracks = "owntracks"
    jt808 = "jt808"


def _check(column: str, enum: type[StrEnum]) -> CheckConstraint:
    values = ", ".join(f"'{v.value}'" for v in enum)
    return CheckConstraint(f"{column} IN ({values})", name=f"{column}_valid")


class Jurisdiction(Base):
    __tablename__ = "jurisdictions"
    __table_args__ = (_check("level", JurisdictionLevel),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    # Materialised path "1/5/12/" so "this node and everything below" is one
    # indexed prefix match: the heart of jurisdiction scoping.
    path: Mapped[str] = mapped_column(String(400), index=True)
    boundary = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        _check("role", Role),
        CheckConstraint("(role = 'supervisee') = (supervisee_id IS NOT NULL)", name="supervisee_link"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    supervisee_id: Mapped[int | None] = mapped_column(ForeignKey("supervisees.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # In every access token; a password change increments it, revoking every
    # token (and websocket) issued before (revoke_sessions).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    jurisdiction: Mapped[Jurisdiction] = relationship(lazy="joined")

    def revoke_sessions(self) -> None:
        """End every session of this user: tokens issued before now stop working."""
        self.token_version = (self.token_version or 0) + 1


class Supervisee(Base):
    __tablename__ = "supervisees"
    __table_args__ = (
        _check("sentence_type", SentenceType),
        _check("tier", Tier),
        _check("status", SuperviseeStatus),
        CheckConstraint("term_end >= term_start", name="term_order"),
        CheckConstraint("id_last4 ~ '^[0-9Xx]{4}$'", name="id_last4_format"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # Keyed hash (HMAC-SHA256) of the full national ID for lookups; only the
    # last four characters are kept in clear.
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_last4: Mapped[str] = mapped_column(String(4))
    sentence_type: Mapped[str] = mapped_column(String(32))
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date] = mapped_column(Date)
    tier: Mapped[str] = mapped_column(String(16))
    office_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True), index=True)
    residence = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=True)
    residence_address: Mapped[str | None] = mapped_column(String(300))
    # Administrative codes whose union is the permitted area (Law art. 27).
    permitted_area_codes: Mapped[list[str]] = mapped_column(ARRAY(String(12)), default=list, server_default="{}")
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())

    office: Mapped[Jurisdiction] = relationship(lazy="joined")


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (
        _check("kind", DeviceKind),
        _check("protocol", DeviceProtocol),
        Index("devices_owntracks_login", "owntracks_user", "owntracks_device", unique=True),
        Index("devices_jt808_phone", "jt808_phone", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    protocol: Mapped[str] = mapped_column(String(16))
    # Keyed hash of the device's secret. The secret has 256 bits of entropy,
    # so a keyed SHA-256 is safe and lets ingest find the device in O(1)
    # (argon2 per request would cap ingest at a few dozen requests/s).
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    owntracks_user: Mapped[str | None] = mapped_column(String(64))
    owntracks_device: Mapped[str | None] = mapped_column(String(64))
    # JT/T 808: the terminal phone number (BCD padding zeros stripped) is the
    # device's identifier; its auth code is derived from credential_hash
    # (geo/ingest/jt808/terminals.py). Registration (0x0100) hands the code out
    # once: registered_at closes it until the secret is rotated.
    jt808_phone: Mapped[str | None] = mapped_column(String(20))
    jt808_registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    supervisee: Mapped[Supervisee] = relationship(lazy="joined")
