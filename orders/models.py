"""Electronic-positioning orders (电子定位, Law art. 29) and their extensions: legal file.

An order is proposed by an officer on one of the five legal grounds, approved
by the district bureau's head, runs for at most three calendar months and may
be extended, after a reassessment and a new approval, by at most three months
at a time. Rows are never deleted: they are part of the legal file kept after
the end of term (orders.purge). The window during which positioning is lawful
is mirrored into geo's ``positioning_windows`` by the service.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Ground(StrEnum):
    """The five situations of Law art. 29 in which electronic positioning may be used."""

    prohibition_order = "prohibition_order"
    left_area_unapproved = "left_area_unapproved"
    refused_reporting_warned = "refused_reporting_warned"
    police_penalty = "police_penalty"
    revocation_pending = "revocation_pending"


# The law's own words (中华人民共和国社区矫正法 第二十九条), shown with every order.
GROUND_WORDING = {
    Ground.prohibition_order: "（一）违反人民法院禁止令的",
    Ground.left_area_unapproved: "（二）无正当理由，未经批准离开所居住的市、县的",
    Ground.refused_reporting_warned: "（三）拒不按照规定报告自己的活动情况，被给予警告的",
    Ground.police_penalty: "（四）违反监督管理规定，被给予治安管理处罚的",
    Ground.revocation_pending: "（五）拟提请撤销缓刑、假释或者暂予监外执行收监执行的",
}


class OrderStatus(StrEnum):
    proposed = "proposed"  # waiting for the bureau head
    approved = "approved"  # in force from starts_at until ends_at
    terminated = "terminated"  # ended early, with a reason
    lapsed = "lapsed"  # reached ends_at (the job marks it)


def _values(enum: type[StrEnum]) -> str:
    return ", ".join(f"'{v.value}'" for v in enum)


class PositioningOrder(Base):
    __tablename__ = "positioning_orders"
    __table_args__ = (
        CheckConstraint(f"ground IN ({_values(Ground)})", name="ground_valid"),
        CheckConstraint(f"status IN ({_values(OrderStatus)})", name="order_status_valid"),
        CheckConstraint("ends_at > starts_at", name="order_window"),
        Index("positioning_orders_due", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("supervisees.id"), index=True)
    office_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jurisdictions.id"))
    ground: Mapped[str] = mapped_column(String(32))
    facts: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    approved_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    end_reason: Mapped[str | None] = mapped_column(Text)
    # Expiry reminders sent (or skipped as superseded) for the current ends_at;
    # an extension clears them, so each expiry is announced once.
    reminded_7d_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminded_1d_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PositioningOrderExtension(Base):
    """A reassessment and the extension it proposes; approved by the bureau head (Law art. 29)."""

    __tablename__ = "positioning_order_extensions"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved')", name="extension_status_valid"),
        CheckConstraint("ends_at > previous_ends_at", name="extension_later"),
        # One pending extension per order at a time.
        Index("positioning_extension_pending", "order_id", unique=True, postgresql_where="status = 'pending'"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("positioning_orders.id"), index=True)
    supervisee_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("supervisees.id"), index=True)
    reassessment: Mapped[str] = mapped_column(Text)
    previous_ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    proposed_by: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
