"""Leave (外出请假, Law art. 27): requests, per-jurisdiction policies, standing permits.

A request's destination is stored like a fence geometry (WGS-84; a circle is
its centre point plus ``radius_m``; the raw input kept). On approval a
``leave_destination`` fence is created for the window and ``fence_id``
points at it; the engine relaxes the permitted-area rule while it is valid.

An extension is its own request row (``parent_id``) so that its approval is
a separate decision with its own approver, reason and audit row; approving
it moves the parent's ``return_due_at``.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from supervision.authority import AuthorityLevel  # noqa: F401  (the generic levels; leave's columns hold them)


class LeaveStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"


_STATUS = "status IN ('pending', 'approved', 'rejected', 'withdrawn')"


class _Destination:
    """Columns shared by a leave's destination and a permit's area."""

    address: Mapped[str] = mapped_column(String(300))
    # Nullable since 0019: the exact point is scrubbed at the end-of-term purge (lifecycle/), the request stays.
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=True)
    radius_m: Mapped[float | None] = mapped_column(Float)
    datum: Mapped[str] = mapped_column(String(8))
    raw: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class LeaveRequest(_Destination, Base):
    __tablename__ = "leave_requests"
    __table_args__ = (
        CheckConstraint(_STATUS, name="leave_status_valid"),
        CheckConstraint("required_level IN ('office', 'bureau')", name="leave_level_valid"),
        CheckConstraint("return_at > depart_at", name="leave_window_order"),
        Index("leave_requests_supervisee_window", "supervisee_id", "depart_at"),
        Index("leave_requests_office_requested", "office_id", "requested_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"))
    # The supervising office when asked: scoping and the report use it, so a
    # later transfer does not move past decisions to another office's report.
    office_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("leave_requests.id"), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    depart_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    return_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # as requested
    # When the person must be back: return_at, moved by approved extensions and cut-shorts.
    return_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    days: Mapped[int] = mapped_column(Integer)  # this request's own days (ceil of 24 h periods)
    total_days: Mapped[int] = mapped_column(Integer)  # with the leave it extends: what routes approval
    required_level: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=LeaveStatus.pending)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_level: Mapped[str | None] = mapped_column(String(8))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cut_short_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fence_id: Mapped[int | None] = mapped_column(ForeignKey("fences.id"))
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    return_position: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    overdue_alert_id: Mapped[int | None] = mapped_column(BigInteger)
    # The names as they were when asked and when decided: the report shows
    # these, not today's (editable) names. NULL on rows written around the workflow.
    supervisee_name: Mapped[str | None] = mapped_column(String(200))
    office_name: Mapped[str | None] = mapped_column(String(200))
    requester_name: Mapped[str | None] = mapped_column(String(200))
    approver_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LeavePolicy(Base):
    """Local leave rules of one jurisdiction. A NULL column inherits from the
    nearest ancestor that sets it, then the national default (policy.py)."""

    __tablename__ = "leave_policies"
    __table_args__ = (
        CheckConstraint("permit_level IS NULL OR permit_level IN ('office', 'bureau')", name="permit_level_valid"),
        CheckConstraint("office_max_days IS NULL OR office_max_days >= 0", name="office_max_days_valid"),
        CheckConstraint("max_days IS NULL OR max_days >= 1", name="max_days_valid"),
    )

    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), primary_key=True)
    office_max_days: Mapped[int | None] = mapped_column(Integer)  # office approves up to this many days
    max_days: Mapped[int | None] = mapped_column(Integer)  # one approval covers at most this many days
    yearly_cap_days: Mapped[int | None] = mapped_column(Integer)  # per calendar year, all approved/pending leave
    min_notice_hours: Mapped[int | None] = mapped_column(Integer)  # ask at least this long before departure
    permit_max_months: Mapped[int | None] = mapped_column(Integer)  # standing permits valid at most this long
    permit_level: Mapped[str | None] = mapped_column(String(8))  # who approves standing permits
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StandingPermit(_Destination, Base):
    """A recurring allowance (Law art. 27 simplified approval) to be in an area
    on set weekdays and local hours (Asia/Shanghai), between two dates."""

    __tablename__ = "standing_permits"
    __table_args__ = (
        CheckConstraint(_STATUS, name="permit_status_valid"),
        CheckConstraint("valid_until >= valid_from", name="permit_window_order"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    weekdays: Mapped[list[int]] = mapped_column(ARRAY(Integer))  # Monday = 0
    start_time: Mapped[str] = mapped_column(String(5))  # "HH:MM" local; end <= start crosses midnight
    end_time: Mapped[str] = mapped_column(String(5))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)  # inclusive
    required_level: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=LeaveStatus.pending)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # withdrawn or revoked
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PermitOccurrence(Base):
    """One occurrence window of a permit and the fence made for it. The primary
    key makes the scheduled job idempotent, even when two runs overlap."""

    __tablename__ = "standing_permit_occurrences"

    permit_id: Mapped[int] = mapped_column(ForeignKey("standing_permits.id"), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fence_id: Mapped[int] = mapped_column(ForeignKey("fences.id"))
