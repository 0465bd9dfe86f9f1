"""Failed-login throttling, per username and per source address, shared by every process.

Without it 50 wrong passwords and then the right one log in, and every try
costs an argon2 hash. A username (known or not: the lock must not tell which)
or a source address that failed too often within the window is locked for a
while: even the right password then gets 429 with Retry-After, and no hash is
computed. The counters live in PostgreSQL so every server process sees them.

A failed login is a refused request, whose transaction the unit of work
rolls back; the failure is therefore written as a write "kept on refusal"
(``Ctx.keep_on_refusal``), in the refusal's own transaction with its audit row.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base
from core.settings import AuthSettings


class LoginThrottle(Base):
    """Recent failed logins of one key ("user:<name>" or "addr:<ip>")."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def keys(username: str, source: str | None) -> dict[str, str]:
    """The throttle keys of one attempt, by kind."""
    out = {"user": "user:" + username.lower()[:190]}
    if source:
        out["addr"] = "addr:" + source[:190]
    return out


def locked_for(db: Session, *, username: str, source: str | None, now: datetime) -> int | None:
    """Seconds until this attempt may be tried again, or None when it may be tried now."""
    rows = db.scalars(select(LoginThrottle.locked_until).where(
        LoginThrottle.key.in_(keys(username, source).values()), LoginThrottle.locked_until > now))
    until = max(rows, default=None)
    return None if until is None else max(1, int((until - now).total_seconds()) + 1)


def record_failure(db: Session, cfg: AuthSettings, *, username: str, source: str | None, now: datetime) -> None:
    """Count one failed attempt against the username and the source; lock what passed its limit."""
    window = timedelta(minutes=cfg.login_window_minutes)
    limits = {"user": cfg.login_max_failures, "addr": cfg.login_source_max_failures}
    for kind, key in keys(username, source).items():
        db.execute(insert(LoginThrottle).values(key=key, failures=0, window_start=now, locked_until=None)
                   .on_conflict_do_nothing())
        row = db.scalar(select(LoginThrottle).where(LoginThrottle.key == key).with_for_update())
        if now - row.window_start > window:
            row.failures, row.window_start = 0, now
        row.failures += 1
        if row.failures >= limits[kind]:
            row.locked_until = now + timedelta(minutes=cfg.login_lockout_minutes)
            row.failures, row.window_start = 0, now
    db.flush()


def record_success(db: Session, *, username: str) -> None:
    """A successful login clears its username's count (not the source's)."""
    row = db.get(LoginThrottle, keys(username, None)["user"])
    if row is not None:
        db.delete(row)
        db.flush()
