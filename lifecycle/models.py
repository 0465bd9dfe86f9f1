"""The release record, legal holds, purge records and sent term reminders: all legal file.

A release is the end of one supervision (at the term's end, or early by an
officer's decision); it schedules the purge of the person's operational data
(``purge_due_at``). A legal hold (an open case or appeal) stops that purge for
as long as it is not lifted. A purge record says what was deleted (counts and
time ranges per table, never content). None of these rows is ever purged.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Release(Base):
    """The release record (解除社区矫正): one per supervisee."""

    __tablename__ = "supervision_releases"
    __table_args__ = (CheckConstraint("kind IN ('term_end', 'early')", name="release_kind_valid"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    released_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    released_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the term-end job
    reason: Mapped[str] = mapped_column(Text)
    # What stopping monitoring did, per step: counts only.
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    purge_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LegalHold(Base):
    """A hold on the purge while a case or appeal is open; lifted by a manager, with reason."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("legal_holds_active", "supervisee_id", postgresql_where=text("lifted_at IS NULL")),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"))
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lifted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lift_reason: Mapped[str | None] = mapped_column(Text)


class PurgeRecord(Base):
    """What one purge deleted: {table: rows} and {table: [first, last]} times; no content."""

    __tablename__ = "purge_records"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"), index=True)
    purged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    time_ranges: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class TermReminder(Base):
    """A reminder sent N days before a term's end (once per term end and N)."""

    __tablename__ = "term_reminders"

    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"), primary_key=True)
    term_end: Mapped[date] = mapped_column(Date, primary_key=True)
    days_before: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
