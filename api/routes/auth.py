"""Staff and supervisee login: username + password -> short-lived access token."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from api.deps import CtxDep, anonymous_ctx
from core.context import Ctx
from core.errors import TooManyRequests, Unauthorized
from core.principal import RequestContext
from core.security import issue_access_token
from supervision import activation, login_throttle
from supervision.models import User
from supervision.schemas import ActivatedOut, ActivateIn, LoginIn, MeOut, TokenOut, UserOut

router = APIRouter(tags=["auth"])


@router.post("/auth/login", response_model=TokenOut)
def login(data: LoginIn, request: Request, ctx: Annotated[Ctx, Depends(anonymous_ctx)]) -> TokenOut:
    now, source, cfg = ctx.clock.now(), ctx.request.source_addr, ctx.settings.auth
    wait = login_throttle.locked_for(ctx.db, username=data.username, source=source, now=now)
    if wait is not None:
        ctx.record("auth.login", "user", None, outcome="throttled", detail={"username": data.username,
                                                                           "retry_after": wait})
        raise TooManyRequests(f"too many failed logins; try again in {wait} s", retry_after=wait)
    user = ctx.db.scalar(select(User).where(User.username == data.username))
    ok = request.app.state.hash_slots.verify(user.password_hash if user else None, data.password) \
        and user is not None and user.active
    if not ok:
        ctx.record("auth.login", "user", user.id if user else None, outcome="denied", detail={"username": data.username})
        ctx.keep_on_refusal(lambda db: login_throttle.record_failure(db, cfg, username=data.username, source=source,
                                                                     now=now))
        raise Unauthorized("wrong username or password")
    login_throttle.record_success(ctx.db, username=data.username)
    token = issue_access_token(ctx.settings.auth, user_id=user.id, role=user.role, now=ctx.clock.now(),
                               token_version=user.token_version)
    ctx.request = RequestContext(principal=None, request_id=ctx.request.request_id, source_addr=ctx.request.source_addr)
    ctx.record("auth.login", "user", user.id, detail={"username": user.username})
    return TokenOut(access_token=token.token, expires_in=token.expires_in, notices=activation.take_unseen(ctx, user.id))


@router.post("/auth/activate", response_model=ActivatedOut)
def activate(data: ActivateIn, request: Request, ctx: Annotated[Ctx, Depends(anonymous_ctx)]) -> ActivatedOut:
    """Redeem a one-time activation code with your own new password (a new account, or after a reset)."""
    user = activation.redeem(ctx, data, hasher=request.app.state.hash_slots.hash)
    return ActivatedOut(username=user.username)


@router.get("/auth/me", response_model=MeOut)
def me(ctx: CtxDep) -> MeOut:
    user = UserOut.model_validate(ctx.db.get(User, ctx.principal.user_id))
    return MeOut(**user.model_dump(), notices=activation.recent_notices(ctx, ctx.principal.user_id))
