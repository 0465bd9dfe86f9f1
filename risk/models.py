"""Risk tables: one assessment per supervisee and day with its named factors, and tier proposals.

No black box: every factor row keeps its weight (the setting at the time),
its value, its points (weight × value) and the ids of the evidence it
counted; the score is the sum of the points. Tier proposals are born
``proposed`` with their reasons and only a person confirms or rejects them.
All legal file: the factors and their evidence ids are kept with the
proposals they explain.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger, CheckConstraint, Date, DateTime, Float, ForeignKey, Index, String, Text, UniqueConstraint, text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class RiskAssessment(Base):
    __tablename__ = "risk_assessments"
    __table_args__ = (UniqueConstraint("supervisee_id", "computed_on", name="risk_assessments_daily"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"))
    office_id: Mapped[int] = mapped_column(BigInteger)
    computed_on: Mapped[date] = mapped_column(Date)  # local day
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    score: Mapped[float] = mapped_column(Float)


class RiskFactor(Base):
    __tablename__ = "risk_factors"
    __table_args__ = (UniqueConstraint("assessment_id", "name", name="risk_factors_once"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("risk_assessments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(32))
    weight: Mapped[float] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    points: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # {"alerts": [...], "ledger": [...], ...}


class TierProposal(Base):
    __tablename__ = "tier_proposals"
    __table_args__ = (
        UniqueConstraint("supervisee_id", "rule_key", name="tier_proposals_once"),
        CheckConstraint("status IN ('proposed', 'confirmed', 'rejected')", name="status_valid"),
        CheckConstraint("to_tier IN ('strict', 'ordinary', 'lenient') AND to_tier <> from_tier", name="tier_move"),
        # One open proposal per supervisee: a newer one waits until the officer decided.
        Index("tier_proposals_open", "supervisee_id", unique=True, postgresql_where=text("status = 'proposed'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"))
    office_id: Mapped[int] = mapped_column(BigInteger)
    from_tier: Mapped[str] = mapped_column(String(16))
    to_tier: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # [{"rule", "detail", "evidence"}]
    rule_key: Mapped[str] = mapped_column(String(300))
    risk_assessment_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    required_level: Mapped[str] = mapped_column(String(8))
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_level: Mapped[str | None] = mapped_column(String(8))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
