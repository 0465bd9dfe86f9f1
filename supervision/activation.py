"""One-time activation codes and account notices: how a password is set by its owner alone.

An administrator never sets or learns a password. Creating an account (or
resetting one) issues a code, stored only as a hash, which expires
(``ZHIJIAO_ACTIVATION_CODE_HOURS``) and works once; the user redeems it at
``POST /auth/activate`` with a password of their own. Redemption is throttled
with the login counters (a wrong code counts as a failed login of that
username and source), so codes cannot be guessed faster than passwords.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update

from core.context import Ctx
from core.errors import Invalid, TooManyRequests, Unauthorized
from core.security import UNUSABLE_PASSWORD, code_hash, new_activation_code
from supervision import login_throttle
from supervision.models import AccountNotice, ActivationCode, User
from supervision.schemas import ActivateIn, NoticeOut

WRONG = "wrong username or activation code"


def issue_code(ctx: Ctx, user: User, *, purpose: str) -> tuple[str, datetime]:
    """A fresh code for ``user`` (revoking any still open); the clear code is returned once, never stored."""
    now = ctx.clock.now()
    ctx.db.execute(update(ActivationCode).where(
        ActivationCode.user_id == user.id, ActivationCode.used_at.is_(None), ActivationCode.revoked_at.is_(None))
        .values(revoked_at=now))
    code = new_activation_code()
    expires = now + timedelta(hours=ctx.settings.auth.activation_code_hours)
    ctx.db.add(ActivationCode(user_id=user.id, code_hash=code_hash(code), purpose=purpose,
                              issued_by=ctx.principal.user_id, issued_at=now, expires_at=expires))
    ctx.db.flush()
    ctx.record("activation.issue", "user", user.id, detail={"purpose": purpose, "expires_at": expires.isoformat()})
    return code, expires


def unset_password(user: User) -> None:
    """No password works any more, and every session ends (a reset, or an account not yet activated)."""
    user.password_hash = UNUSABLE_PASSWORD
    user.revoke_sessions()


def _refuse(ctx: Ctx, user: User | None, data: ActivateIn, outcome: str, exc: Exception) -> None:
    ctx.record("user.activate", "user", user.id if user else None, outcome=outcome,
               detail={"username": data.username})
    raise exc


def redeem(ctx: Ctx, data: ActivateIn, *, hasher: Callable[[str], str]) -> User:
    """Set the user's own password from a valid code; refuse a wrong, expired, used or replaced one."""
    now, source, cfg = ctx.clock.now(), ctx.request.source_addr, ctx.settings.auth
    wait = login_throttle.locked_for(ctx.db, username=data.username, source=source, now=now)
    if wait is not None:
        _refuse(ctx, None, data, "throttled",
                TooManyRequests(f"too many failed attempts; try again in {wait} s", retry_after=wait))
    user = ctx.db.scalar(select(User).where(User.username == data.username))
    row = ctx.db.scalar(select(ActivationCode).where(
        ActivationCode.code_hash == code_hash(data.code), ActivationCode.user_id == (user.id if user else None))
        .with_for_update()) if user is not None and user.active else None
    if row is None:
        ctx.keep_on_refusal(lambda db: login_throttle.record_failure(db, cfg, username=data.username, source=source,
                                                                     now=now))
        _refuse(ctx, user, data, "denied", Unauthorized(WRONG))
    # Only the holder of the code learns its state: these messages say nothing to a guesser.
    if row.used_at is not None:
        _refuse(ctx, user, data, "refused", Invalid(
            "this activation code has already been used; ask your administrator for a new one", field="code"))
    if row.revoked_at is not None:
        _refuse(ctx, user, data, "refused", Invalid(
            "this activation code was replaced by a newer one; use the latest code you were given", field="code"))
    if row.expires_at <= now:
        _refuse(ctx, user, data, "refused", Invalid(
            "this activation code has expired; ask your administrator for a new one", field="code"))
    user.password_hash = hasher(data.password)
    user.revoke_sessions()
    row.used_at = now
    login_throttle.record_success(ctx.db, username=data.username)
    ctx.db.flush()
    ctx.record("user.activate", "user", user.id, detail={"purpose": row.purpose})
    return user


def notify(ctx: Ctx, user: User, *, kind: str, message: str) -> None:
    """Leave the user a notice (shown at their next login and in /auth/me), audited."""
    ctx.db.add(AccountNotice(user_id=user.id, kind=kind, message=message, created_at=ctx.clock.now()))
    ctx.db.flush()
    ctx.record("user.notice", "user", user.id, detail={"kind": kind})


def take_unseen(ctx: Ctx, user_id: int) -> list[NoticeOut]:
    """The notices not shown yet, now marked seen (at login)."""
    rows = list(ctx.db.scalars(select(AccountNotice).where(
        AccountNotice.user_id == user_id, AccountNotice.seen_at.is_(None)).order_by(AccountNotice.id)))
    for row in rows:
        row.seen_at = ctx.clock.now()
    ctx.db.flush()
    return [NoticeOut.model_validate(r) for r in rows]


def recent_notices(ctx: Ctx, user_id: int, limit: int = 20) -> list[NoticeOut]:
    rows = ctx.db.scalars(select(AccountNotice).where(AccountNotice.user_id == user_id)
                          .order_by(AccountNotice.id.desc()).limit(limit))
    return [NoticeOut.model_validate(r) for r in rows]
