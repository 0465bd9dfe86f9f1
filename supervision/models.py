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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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
    wristband = "wristband"  # 电子腕带 (JT/T 808 or similar)


# Kinds that exist only for electronic positioning (Law art. 29): their fixes
# are lawful only while an order is in force.
POSITIONING_KINDS = frozenset({DeviceKind.tracker, DeviceKind.wristband})


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
    # Head of a district bureau (区县司法局局长): the only approver of
    # electronic-positioning orders (Law art. 29). Set by an administrator.
    bureau_head: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
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
        CheckConstraint("protocol <> 'jt808' OR jt808_terminal_id IS NOT NULL", name="jt808_terminal_id_required"),
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
    # The same secret as a salted PBKDF2 hash in the MQTT broker's format, for
    # OwnTracks devices: the broker's password file is generated from it, so
    # the secret itself is never written anywhere (geo/ingest/mqtt).
    mqtt_password_hash: Mapped[str | None] = mapped_column(Text)
    # JT/T 808: the terminal phone number (BCD padding zeros stripped) is the
    # device's identifier; its auth code is derived from credential_hash
    # (geo/ingest/jt808/terminals.py). Registration (0x0100) hands the code out
    # once: registered_at closes it until the secret is rotated. The terminal
    # id (0x0100's 7- or 30-byte field, from the device's label) is what the
    # officer recorded; a registration naming another is refused.
    jt808_phone: Mapped[str | None] = mapped_column(String(20))
    jt808_terminal_id: Mapped[str | None] = mapped_column(String(30))
    jt808_registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # A phone the office uses for electronic positioning (Law art. 29): its
    # fixes count as positioning data under an order, and as ordinary
    # 信息化核查 data outside one.
    positioning_grade: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    supervisee: Mapped[Supervisee] = relationship(lazy="joined")


class ActivationCode(Base):
    """A one-time code that lets a user set their own password (new account or reset).

    Only a hash is stored; the code is shown once, to whoever may hand it over
    (the admin for an officer, the approving manager otherwise). Issuing a new
    code for a user revokes the ones still open.
    """

    __tablename__ = "activation_codes"
    __table_args__ = (CheckConstraint("purpose IN ('create', 'reset')", name="activation_purpose_valid"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(8))
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AccountNotice(Base):
    """A notice for one user, shown at their next login and in /auth/me: something done to their
    account by someone else (a reset), or for admins what needs their hands (supervision.notices)."""

    __tablename__ = "account_notices"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AccountRequest(Base):
    """An admin's request that needs a second person: a new account or a reset
    of a manager, auditor or supervisee login, decided by a manager above it."""

    __tablename__ = "account_requests"
    __table_args__ = (
        CheckConstraint("kind IN ('create', 'reset')", name="account_request_kind_valid"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="account_request_status_valid"),
        _check("role", Role),
        # One open request per new username (the users table holds the rest).
        Index("account_requests_pending_username", "username", unique=True,
              postgresql_where="status = 'pending' AND kind = 'create'"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    role: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(200))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    supervisee_id: Mapped[int | None] = mapped_column(ForeignKey("supervisees.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the reset's target, or the account made
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)


class Registration(Base):
    """A supervisee registration waiting for the bureau: its national ID is
    already on record, or it was sampled for review (which hides the first
    reason from the office). Holds the validated input without the ID number."""

    __tablename__ = "supervisee_registrations"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'accepted', 'rejected')", name="registration_status_valid"),
        CheckConstraint("reason IN ('national_id_match', 'sample')", name="registration_reason_valid"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    id_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_last4: Mapped[str] = mapped_column(String(4))
    data: Mapped[dict] = mapped_column(JSONB)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    supervisee_id: Mapped[int | None] = mapped_column(ForeignKey("supervisees.id"))  # made on acceptance
