"""Roll-call tables: the officer's request and its outcome, and the frames kept as evidence.

``camera_id`` has no foreign key on purpose: a roll-call is a record of what
was asked and seen, and it must outlive a camera being re-registered or
removed; the camera's name and place at the time are copied into the row.
State moves waiting → done | cancelled with conditional updates, so a job
round and an officer's cancel cannot both win.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

STATES = ("waiting", "done", "cancelled")
OUTCOMES = ("match", "inconclusive", "no_match", "no_face", "camera_failed")
DECISIONS = ("confirmed", "overturned")


def _in(column: str, values: tuple[str, ...], *, nullable: bool = False) -> CheckConstraint:
    listed = ", ".join(repr(v) for v in values)
    rule = f"{column} IS NULL OR {column} IN ({listed})" if nullable else f"{column} IN ({listed})"
    return CheckConstraint(rule, name=f"{column}_valid")


class Rollcall(Base):
    """One remote roll-call (远程点名): who, which camera, which gesture, until when, and what was seen."""

    __tablename__ = "rollcalls"
    __table_args__ = (
        _in("state", STATES), _in("outcome", OUTCOMES, nullable=True), _in("decision", DECISIONS, nullable=True),
        CheckConstraint("deadline_at > requested_at", name="window_order"),
        Index("rollcalls_waiting", "deadline_at", postgresql_where=text("state = 'waiting'")),
        Index("rollcalls_person", "supervisee_id", "requested_at"),
        Index("rollcalls_office", "office_id", "requested_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"))
    office_id: Mapped[int] = mapped_column(BigInteger)  # the supervisee's office at the request: scoping
    camera_id: Mapped[int] = mapped_column(BigInteger)
    camera_name: Mapped[str] = mapped_column(String(200))  # as it was when asked (shown to the supervisee)
    camera_lon: Mapped[float] = mapped_column(Float)  # WGS-84, as it was when asked: where to go
    camera_lat: Mapped[float] = mapped_column(Float)
    gesture: Mapped[str] = mapped_column(String(32))  # rollcall.gestures kind
    requested_by: Mapped[int] = mapped_column(BigInteger)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16), default="waiting")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(16))  # best so far; final once done
    distance: Mapped[float | None] = mapped_column(Float)  # of the best face to the enrolled templates
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Per attempt: time, outcome, distances, faces per frame, grab error and latency (never pixels).
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RollcallFrame(Base):
    """A grabbed frame kept as evidence (the file is in the encrypted media store)."""

    __tablename__ = "rollcall_frames"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rollcall_id: Mapped[int] = mapped_column(ForeignKey("rollcalls.id"), index=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("supervisees.id"), index=True)
    media_id: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer)
    grabbed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    faces: Mapped[int] = mapped_column(Integer)
    distance: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(16))
