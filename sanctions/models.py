"""Sanction tables: records and proposals of 训诫 / 警告 / proposals / 表扬, the jurisdictions'
approval policies, monthly assessments and the obligations ledger. All legal file (Law art. 28).

A sanction row is born ``proposed`` (by an escalation rule, ``rule_key`` set,
or by an officer) and only a person moves it: ``imposed`` or ``rejected``,
with who, at which authority level, when and why. ``rule_key`` is unique per
supervisee, so a rule proposes a given step once, however often it runs,
and a rejected proposal is not proposed again.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger, CheckConstraint, Date, DateTime, Float, ForeignKey, Index, String, Text, UniqueConstraint, func, text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class SanctionKind(StrEnum):
    praise = "praise"  # 表扬
    admonition = "admonition"  # 训诫
    warning = "warning"  # 警告
    police_penalty_proposal = "police_penalty_proposal"  # 提请治安管理处罚
    revocation_proposal = "revocation_proposal"  # 提请撤销缓刑/假释
    custody_proposal = "custody_proposal"  # 提请收监执行


KIND_LABELS = {
    SanctionKind.praise: "表扬 · praise", SanctionKind.admonition: "训诫 · admonition",
    SanctionKind.warning: "警告 · warning",
    SanctionKind.police_penalty_proposal: "提请治安管理处罚 · police penalty proposal",
    SanctionKind.revocation_proposal: "提请撤销缓刑/假释 · revocation proposal",
    SanctionKind.custody_proposal: "提请收监执行 · custody proposal",
}

# Sanctions proper (not praise): any of these imposed in a month fails that month's assessment.
SANCTIONS = frozenset(SanctionKind) - {SanctionKind.praise}


class SanctionStatus(StrEnum):
    proposed = "proposed"
    imposed = "imposed"
    rejected = "rejected"


class Grade(StrEnum):
    good = "good"  # 良好
    passed = "pass"  # 合格
    failed = "fail"  # 不合格


class ObligationKind(StrEnum):
    study = "study"  # 教育学习
    service = "service"  # 公益活动


def _in(column: str, enum: type[StrEnum]) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(v.value) for v in enum)})", name=f"{column}_valid")


_LEVEL = "IN ('office', 'bureau')"


class SanctionPolicy(Base):
    """A jurisdiction's approval levels for sanctions and tier moves; NULL inherits (sanctions.policy)."""

    __tablename__ = "sanction_policies"
    __table_args__ = tuple(CheckConstraint(f"{c} IS NULL OR {c} {_LEVEL}", name=f"{c}_valid") for c in (
        "praise_level", "admonition_level", "warning_level", "proposal_level", "tier_level"))

    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), primary_key=True)
    praise_level: Mapped[str | None] = mapped_column(String(8))
    admonition_level: Mapped[str | None] = mapped_column(String(8))
    warning_level: Mapped[str | None] = mapped_column(String(8))
    proposal_level: Mapped[str | None] = mapped_column(String(8))  # police penalty, revocation, custody
    tier_level: Mapped[str | None] = mapped_column(String(8))
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Sanction(Base):
    __tablename__ = "sanctions"
    __table_args__ = (
        _in("kind", SanctionKind), _in("status", SanctionStatus),
        UniqueConstraint("supervisee_id", "rule_key", name="sanctions_rule_once"),
        CheckConstraint(f"required_level {_LEVEL}", name="required_level_valid"),
        Index("sanctions_person", "supervisee_id", "proposed_at"),
        Index("sanctions_queue", "office_id", "proposed_at", postgresql_where=text("status = 'proposed'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"))
    office_id: Mapped[int] = mapped_column(BigInteger)  # denormalised for scoping, fixed at creation
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=SanctionStatus.proposed)
    facts: Mapped[str] = mapped_column(Text)
    # {"alerts": [ids], "ledger": [check-in ledger ids], "episodes": [ids], "sanctions": [ids]}
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    rule_key: Mapped[str | None] = mapped_column(String(200))  # set when an escalation rule proposed it
    proposed_by: Mapped[int | None] = mapped_column(BigInteger)  # NULL: the system (a rule)
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    required_level: Mapped[str] = mapped_column(String(8))
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_level: Mapped[str | None] = mapped_column(String(8))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)


class MonthlyAssessment(Base):
    """One month of one supervisee: computed from the record, confirmed by an officer."""

    __tablename__ = "monthly_assessments"
    __table_args__ = (
        UniqueConstraint("supervisee_id", "month", name="monthly_assessments_once"),
        _in("grade", Grade),
        CheckConstraint("extract(day FROM month) = 1", name="month_first_day"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"))
    office_id: Mapped[int] = mapped_column(BigInteger)
    month: Mapped[date] = mapped_column(Date)  # first day of the local month
    tier: Mapped[str] = mapped_column(String(16))  # the tier at month end
    score: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(8))
    # Why: [{"name", "points", "evidence": {...}}] and the rule that forced 不合格, if any.
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_by: Mapped[int | None] = mapped_column(BigInteger)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirm_reason: Mapped[str | None] = mapped_column(Text)


class ObligationEntry(Base):
    """Hours of study or public service an officer entered for a supervisee's month."""

    __tablename__ = "obligation_entries"
    __table_args__ = (
        _in("kind", ObligationKind),
        CheckConstraint("hours > 0 AND hours <= 200", name="hours_range"),
        CheckConstraint("extract(day FROM month) = 1", name="month_first_day"),
        Index("obligation_entries_month", "supervisee_id", "month"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"))
    office_id: Mapped[int] = mapped_column(BigInteger)
    month: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    hours: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(String(500))
    entered_by: Mapped[int] = mapped_column(BigInteger)
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
