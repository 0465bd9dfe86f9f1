"""Staff and supervisee login: username + password -> short-lived access token."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from api.deps import CtxDep, anonymous_ctx
from core.context import Ctx
from core.errors import Unauthorized
from core.principal import RequestContext
from core.security import issue_access_token, verify_password
from supervision.models import User
from supervision.schemas import LoginIn, TokenOut, UserOut

router = APIRouter(tags=["auth"])


@router.post("/auth/login", response_model=TokenOut)
def login(data: LoginIn, ctx: Annotated[Ctx, Depends(anonymous_ctx)]) -> TokenOut:
    user = ctx.db.scalar(select(User).where(User.username == data.username))
    ok = verify_password(user.password_hash if user else None, data.password) and user is not None and user.active
    if not ok:
        ctx.record("auth.login", "user", user.id if user else None, outcome="denied", detail={"username": data.username})
        raise Unauthorized("wrong username or password")
    token = issue_access_token(ctx.settings.auth, user_id=user.id, role=user.role, now=ctx.clock.now(),
                               token_version=user.token_version)
    ctx.request = RequestContext(principal=None, request_id=ctx.request.request_id, source_addr=ctx.request.source_addr)
    ctx.record("auth.login", "user", user.id, detail={"username": user.username})
    return TokenOut(access_token=token.token, expires_in=token.expires_in)


@router.get("/auth/me", response_model=UserOut)
def me(ctx: CtxDep) -> UserOut:
    return UserOut.model_validate(ctx.db.get(User, ctx.principal.user_id))
