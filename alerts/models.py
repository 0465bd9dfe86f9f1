"""Alerts, their evidence, notes, and the outbox of alert events.

An alert is written in the same transaction as whatever caused it (fixes,
a missed check-in…), together with an ``alert_events`` row: the outbox. A
relay publishes committed events in order and stamps each with ``seq``, the
monotonically increasing number clients resume from.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class AlertKind(StrEnum):
    left_permitted_area = "left_permitted_area"
    entered_exclusion_zone = "entered_exclusion_zone"
    curfew_breach = "curfew_breach"
    outside_leave_destination = "outside_leave_destination"
    overdue_return = "overdue_return"
    signal_lost = "signal_lost"
    device = "device"
    integrity = "integrity"
    missed_checkin = "missed_checkin"
    notice = "notice"  # a reminder or announcement for the officer (an order about to lapse, lapsed)
    term_ending = "term_ending"  # a notice: the term ends in N days (Law art. 44), nothing to stop
    obligation_shortfall = "obligation_shortfall"  # study / public-service hours short at month end


class AlertState(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class Resolution(StrEnum):
    confirmed_violation = "confirmed_violation"
    false_alarm = "false_alarm"
    excused = "excused"
    police_notified = "police_notified"  # Law art. 31
    withdrawn = "withdrawn"  # system: late data disproved every episode
    term_ended = "term_ended"  # system: the supervision ended (lifecycle/), monitoring stopped
    decided = "decided"  # system: the proposal a notice asked about was decided


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'acknowledged', 'resolved')", name="state_valid"),
        # One unresolved alert per supervisee + cause: repeats add evidence.
        Index("alerts_one_unresolved", "supervisee_id", "cause", unique=True, postgresql_where=text("state <> 'resolved'")),
        Index("alerts_office_state", "office_id", "state"),
        Index("alerts_opened_brin", "created_at", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("supervisees.id"), index=True)
    # Denormalised for scoping without a join, fixed at creation.
    office_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jurisdictions.id"))
    kind: Mapped[str] = mapped_column(String(32))
    # What makes two alerts "the same": e.g. "fence:12:left_permitted_area".
    cause: Mapped[str] = mapped_column(String(120))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    fence_id: Mapped[int | None] = mapped_column(BigInteger)
    fence_version: Mapped[int | None] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # event time (fix time)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_evidence_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    evidence_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # condition ended
    assigned_to: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[int | None] = mapped_column(BigInteger)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[int | None] = mapped_column(BigInteger)
    resolution: Mapped[str | None] = mapped_column(String(32))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Added in 0003 (lifecycle): when a flapping cause last re-opened this row;
    # escalation timers count from here, not from created_at.
    reopened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AlertEvidence(Base):
    __tablename__ = "alert_evidence"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    alert_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alerts.id"), index=True)
    fix_id: Mapped[int | None] = mapped_column(BigInteger)
    t: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    datum: Mapped[str | None] = mapped_column(String(8))
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    distance_m: Mapped[float | None] = mapped_column(Float)  # signed: < 0 inside the fence
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AlertNote(Base):
    __tablename__ = "alert_notes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    alert_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alerts.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlertEvent(Base):
    """The outbox. ``id`` orders inserts; ``seq`` is stamped by the relay when it
    publishes (in its order, after commit), so ``seq`` never has holes that a
    later-committing transaction could fill behind a client's back.
    ``published_at`` is set only after the bus accepted the event (0006): a row
    with ``seq`` but no ``published_at`` is re-published by the next leader."""

    __tablename__ = "alert_events"
    __table_args__ = (
        Index("alert_events_unpublished", "id", postgresql_where=text("seq IS NULL")),
        Index("alert_events_seq", "seq", unique=True),
        # Added by 0006: the relay looks for stamped-but-unpublished rows every round.
        Index("alert_events_unsent", "seq", postgresql_where=text("seq IS NOT NULL AND published_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    alert_id: Mapped[int] = mapped_column(BigInteger, index=True)
    office_id: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(24))  # created, evidence, acknowledged, escalated, resolved, ...
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- added by 0003_alert_lifecycle ----------------------------------------------

class AlertFlap(Base):
    """Per supervisee + cause: openings in the current one-hour window.

    A fixed window (not sliding) keeps this one upsert per opening; it only
    decides when repeats stop being re-sent, so the coarser edge is harmless.
    """

    __tablename__ = "alert_flaps"
    __table_args__ = (PrimaryKeyConstraint("supervisee_id", "cause"),)

    supervisee_id: Mapped[int] = mapped_column(BigInteger)
    cause: Mapped[str] = mapped_column(String(120))
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    openings: Mapped[int] = mapped_column(Integer)
    # The one "this is flapping" event of the window has been sent.
    announced: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class WebhookState(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


class Webhook(Base):
    """An outgoing webhook of one bureau (e.g. the offices' messaging platform)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    bureau_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jurisdictions.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # HMAC key; never returned after creation (see alerts.webhook_config).
    secret: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(200))
    event_types: Mapped[list[str] | None] = mapped_column(ARRAY(String(24)))  # None: every type
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """One event to one webhook: the retry state the deliveries route shows."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_valid"),
        # The relay may hand the same event over twice (crash after publish): enqueue is idempotent.
        UniqueConstraint("webhook_id", "event_id", name="webhook_deliveries_once"),
        Index("webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("webhooks.id"), index=True)
    event_id: Mapped[int] = mapped_column(BigInteger)  # alert_events.id (no FK: the outbox may be pruned)
    event_type: Mapped[str] = mapped_column(String(24))
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)  # snapshot: retries send the same bytes' content
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
