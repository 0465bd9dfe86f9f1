"""Check-in tables: plans, occurrences, challenges, submissions, enrolments, the ledger, local policies.

Exactly-once comes from keys, not from luck: an occurrence is unique per
(plan, slot key) (spot checks by an officer carry their own key), the state
moves scheduled → due → submitted | missed | missed_outage | cancelled with
conditional updates under row locks, and a ledger entry is unique per
(occurrence, kind). Several processes, restarts and retries can run the same
step; only one of them changes anything.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text,
    UniqueConstraint, func, text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class OccurrenceState(StrEnum):
    scheduled = "scheduled"  # materialised ahead, not open yet
    due = "due"  # the window is open
    submitted = "submitted"  # a check-in was accepted in the window
    missed = "missed"  # the window closed without one
    missed_outage = "missed_outage"  # closed while the system was down: to an officer, no sanction alert
    cancelled = "cancelled"  # re-planned (tier change) before it opened


class LedgerKind(StrEnum):
    missed = "missed"
    missed_outage = "missed_outage"
    failed = "failed"  # submitted, but not a clean pass (face, liveness, location): needs an officer


class Decision(StrEnum):
    confirmed = "confirmed"  # the miss / failure stands
    overturned = "overturned"  # the officer found it was fine (or excused)


def _in(column: str, enum: type[StrEnum]) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(v.value) for v in enum)})", name=f"{column}_valid")


class CheckinPolicy(Base):
    """A jurisdiction's own check-in rules; NULL inherits (nearest ancestor, then settings)."""

    __tablename__ = "checkin_policies"
    __table_args__ = (
        CheckConstraint("plan IS NULL OR plan IN ('tier', 'fixed_windows')", name="plan_valid"),
    )

    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), primary_key=True)
    plan: Mapped[str | None] = mapped_column(String(16))  # "tier" (by tier) or "fixed_windows"
    daily_window: Mapped[str | None] = mapped_column(String(11))
    report_window: Mapped[str | None] = mapped_column(String(11))
    report_weekday: Mapped[int | None] = mapped_column(Integer)
    fixed_windows: Mapped[list[str] | None] = mapped_column(ARRAY(String(11)))
    spot_per_week: Mapped[int | None] = mapped_column(Integer)
    spot_answer_minutes: Mapped[int | None] = mapped_column(Integer)
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CheckinPlan(Base):
    """A supervisee's plan from ``valid_from`` until ``valid_to`` (a tier change ends it and starts the next)."""

    __tablename__ = "checkin_plans"
    __table_args__ = (
        # One plan in force per supervisee: two processes re-planning at once cannot both win.
        Index("checkin_plans_current", "supervisee_id", unique=True, postgresql_where=text("valid_to IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # plans.PlanKind
    tier: Mapped[str] = mapped_column(String(16))  # the tier it was made for
    rule: Mapped[dict[str, Any]] = mapped_column(JSONB)  # checkins.rules.rule_json of its PlanRule
    # Biweekly plans: the parity of their first 报到 day (checkins.rules.cycle_anchor); NULL otherwise.
    cycle_anchor: Mapped[date | None] = mapped_column(Date)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    materialised_to: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CheckinOccurrence(Base):
    __tablename__ = "checkin_occurrences"
    __table_args__ = (
        UniqueConstraint("plan_id", "key", name="checkin_occurrences_once"),
        _in("state", OccurrenceState),
        CheckConstraint("closes_at > opens_at", name="window_order"),
        Index("checkin_occurrences_open", "opens_at", postgresql_where=text("state = 'scheduled'")),
        Index("checkin_occurrences_closing", "closes_at", postgresql_where=text("state IN ('scheduled', 'due')")),
        Index("checkin_occurrences_person", "supervisee_id", "opens_at"),
        Index("checkin_occurrences_office", "office_id", "opens_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # NULL for a spot check an officer issued (its key is unique on its own: "officer:<uuid>").
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_plans.id"))
    key: Mapped[str] = mapped_column(String(64))
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"))
    office_id: Mapped[int] = mapped_column(BigInteger)  # denormalised for scoping, fixed at creation
    kind: Mapped[str] = mapped_column(String(16))  # plans.SlotKind
    requires_face: Mapped[bool] = mapped_column(Boolean, default=True)
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    issued_by: Mapped[int | None] = mapped_column(BigInteger)  # officer of a spot check
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    judged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    alert_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


Index("checkin_occurrences_officer_key", CheckinOccurrence.key, unique=True,
      postgresql_where=text("plan_id IS NULL"))


class CheckinChallenge(Base):
    """A one-time server nonce and the random challenge issued for one occurrence."""

    __tablename__ = "checkin_challenges"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("checkin_occurrences.id"), index=True)
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)  # the nonce itself is never stored
    challenge: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CheckinSubmission(Base):
    __tablename__ = "checkin_submissions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("checkin_occurrences.id"), unique=True)
    supervisee_id: Mapped[int] = mapped_column(BigInteger, index=True)
    office_id: Mapped[int] = mapped_column(BigInteger)
    via: Mapped[str] = mapped_column(String(16))  # "account" | "device"
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fix_id: Mapped[int | None] = mapped_column(BigInteger)  # the fix stored by ingest (protocol "check-in")
    lon: Mapped[float] = mapped_column(Float)  # WGS-84
    lat: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float] = mapped_column(Float)
    datum: Mapped[str] = mapped_column(String(8))  # as declared
    location: Mapped[str] = mapped_column(String(16))  # inside | outside | uncertain | flagged | no_fence
    challenge: Mapped[str | None] = mapped_column(String(32))
    face: Mapped[str | None] = mapped_column(String(16))  # match | no_match | inconclusive | no_face | not_enrolled
    face_distance: Mapped[float | None] = mapped_column(Float)
    liveness: Mapped[str | None] = mapped_column(String(64))  # "passed" or the reason it failed
    neutral_media_id: Mapped[int | None] = mapped_column(BigInteger)
    challenge_media_id: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(16))  # passed | review
    separation_m: Mapped[float | None] = mapped_column(Float)  # to the phone's own fix near that time
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class FaceEnrolment(Base):
    """The reference templates of one supervisee (biometric: sealed, purged at end of term)."""

    __tablename__ = "face_enrolments"
    __table_args__ = (
        Index("face_enrolments_current", "supervisee_id", unique=True, postgresql_where=text("active")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    templates: Mapped[bytes] = mapped_column(LargeBinary)  # core.media.seal of the descriptors
    media_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))  # the reference photos
    enrolled_by: Mapped[int] = mapped_column(BigInteger)
    enrolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CheckinLedgerEntry(Base):
    """Every missed or failed check-in, and what an officer decided: what risk/sanctions will read.

    Nothing here sanctions anyone: an entry records the fact, the review
    queue is the entries without a decision, and the decision is a person's.
    """

    __tablename__ = "checkin_ledger"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "kind", name="checkin_ledger_once"),
        _in("kind", LedgerKind),
        CheckConstraint("decision IS NULL OR decision IN ('confirmed', 'overturned')", name="decision_valid"),
        Index("checkin_ledger_queue", "office_id", "created_at", postgresql_where=text("decision IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("checkin_occurrences.id"))
    submission_id: Mapped[int | None] = mapped_column(BigInteger)
    supervisee_id: Mapped[int] = mapped_column(BigInteger, index=True)
    office_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(64))  # e.g. "missed", "no_match", "liveness: same photo"
    consecutive: Mapped[int] = mapped_column(Integer, default=1)  # misses in a row, this one included
    alert_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
