"""One-time tickets that authenticate the alert websocket.

A browser cannot put an ``Authorization`` header on a websocket, and a bearer
token in the URL ends up in proxy logs and browser history. So the client
trades its bearer token for a ticket (``POST /ws/tickets``) and sends the ticket
as the first websocket message. A ticket is 32 random bytes, lives at most 30 s
and works once. Only its SHA-256 is stored (256 bits of entropy need no salt or
key), in the database rather than in memory, so any server process can redeem a
ticket another one issued.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, delete, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base

# Keep used/expired rows a while for forensics, then prune them when issuing.
_KEEP_EXPIRED = timedelta(hours=1)


class WsTicket(Base):
    __tablename__ = "ws_tickets"
    __table_args__ = (Index("ws_tickets_expires", "expires_at"),)

    ticket_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Of the bearer token the ticket was bought with: the socket is refused if the
    # user's sessions were revoked since, and ends when that token expires.
    token_version: Mapped[int | None] = mapped_column(Integer)
    session_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Redeemed:
    user_id: int
    token_version: int | None
    session_ends_at: datetime | None


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def issue_ticket(db: Session, *, user_id: int, now: datetime, ttl_seconds: int, token_version: int | None = None,
                 session_ends_at: datetime | None = None) -> tuple[str, int]:
    """Store a new ticket for ``user_id``; returns (ticket, seconds valid). The caller commits."""
    ticket = secrets.token_urlsafe(32)
    db.execute(delete(WsTicket).where(WsTicket.expires_at < now - _KEEP_EXPIRED))
    db.add(WsTicket(ticket_hash=_digest(ticket), user_id=user_id, expires_at=now + timedelta(seconds=ttl_seconds),
                    token_version=token_version, session_ends_at=session_ends_at))
    db.flush()
    return ticket, ttl_seconds


def redeem_ticket(db: Session, *, ticket: str, now: datetime) -> Redeemed | None:
    """Mark the ticket used and return whose it is; None if unknown, expired or used.

    One conditional UPDATE, so two processes racing to redeem the same ticket
    cannot both win. ``now`` comes from the injectable clock, not SQL ``now()``,
    so tests can expire a ticket without sleeping. The caller commits.
    """
    if not isinstance(ticket, str) or not 16 <= len(ticket) <= 128:
        return None
    row = db.execute(
        update(WsTicket)
        .where(WsTicket.ticket_hash == _digest(ticket), WsTicket.used_at.is_(None), WsTicket.expires_at > now)
        .values(used_at=now)
        .returning(WsTicket.user_id, WsTicket.token_version, WsTicket.session_ends_at)
    ).first()
    return Redeemed(*row) if row else None
