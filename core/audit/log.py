"""The audit trail: an append-only, hash-chained table.

Rows are chained in ``seq`` order: each row's HMAC covers its content and the
previous row's hash (see ``core.audit.chain``). ``seq`` must be gapless and
assigned in commit order, so writers serialise on a transaction-scoped
advisory lock; the lock is released when the owning transaction commits or
rolls back, and a rolled-back row leaves no gap because its seq is reused.

Writing happens in the caller's transaction: if the audit row cannot be
written, the action (or read) fails with it. Nothing is returned unaudited.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, String, Text, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.audit.chain import CONTENT_FIELDS, GENESIS, normalise_json, row_hash
from core.clock import Clock
from core.db import Base
from core.principal import RequestContext

AUDIT_LOCK_ID = 0x7A6A_4155  # "zjAU": one advisory lock for the chain head


class AuditUnavailable(RuntimeError):
    """The audit row could not be written, so the action it records must not happen."""


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("audit_log_object", "object_type", "object_id"),
        Index("audit_log_at", "at", postgresql_using="brin"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(64))
    source_addr: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(Text)


def entry_as_row(entry: AuditEntry) -> dict[str, Any]:
    row = {name: getattr(entry, name) for name in CONTENT_FIELDS}
    row["hash"] = entry.hash
    return row


class AuditLog:
    """Writes audit rows; one instance per process, holding the chain key."""

    def __init__(self, key: bytes, clock: Clock) -> None:
        if not key:
            raise ValueError("audit key is empty")
        self._key = key
        self._clock = clock

    def record(
        self,
        db: Session,
        ctx: RequestContext,
        *,
        action: str,
        object_type: str | None = None,
        object_id: object = None,
        outcome: str = "ok",
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one row in ``db``'s transaction (fail closed: raise AuditUnavailable).

        On any failure the caller's whole transaction is rolled back here, not
        only the audit insert: routes that commit in a ``finally`` (to keep the
        audit row of a refused read) would otherwise commit the action's own
        changes without their audit row, or hide this error behind "transaction
        already aborted". The action fails with its audit row, never without it.
        """
        try:
            return self._append(db, ctx, action=action, object_type=object_type, object_id=object_id,
                                outcome=outcome, detail=detail)
        except Exception as exc:
            try:
                db.rollback()
            except Exception:  # noqa: BLE001 - a dead connection discards the transaction anyway
                pass
            raise AuditUnavailable(f"audit row for {action!r} could not be written: {type(exc).__name__}") from exc

    def _append(
        self,
        db: Session,
        ctx: RequestContext,
        *,
        action: str,
        object_type: str | None,
        object_id: object,
        outcome: str,
        detail: dict[str, Any] | None,
    ) -> AuditEntry:
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_ID})
        head = db.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
        seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
        principal = ctx.principal
        # Python and PostgreSQL both keep microseconds, so the hash computed
        # now equals the hash of the row read back later.
        at = self._clock.now()
        entry = AuditEntry(
            seq=seq,
            at=at,
            actor_id=principal.user_id if principal else None,
            actor_role=principal.role if principal else None,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            outcome=outcome,
            request_id=ctx.request_id,
            source_addr=ctx.source_addr,
            # Stored exactly as PostgreSQL will give it back, so the hash verifies.
            detail=normalise_json(detail or {}),
            prev_hash=prev,
        )
        entry.hash = row_hash(self._key, {name: getattr(entry, name) for name in CONTENT_FIELDS})
        db.add(entry)
        db.flush()
        return entry
