"""FastAPI dependencies: the database session, the caller, the context."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import Ctx
from core.errors import Invalid, Unauthorized
from core.principal import Principal, RequestContext
from core.security import TokenError, decode_access_token
from supervision.models import Jurisdiction, User

_bearer = HTTPBearer(auto_error=False)


def get_db(request: Request) -> Iterator[Session]:
    """A session per request. The route commits; anything else is rolled back."""
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def request_context(request: Request, principal: Principal | None = None) -> RequestContext:
    client = request.client.host if request.client else None
    return RequestContext(principal=principal, request_id=request.state.request_id, source_addr=client)


def load_principal(db: Session, user_id: int) -> Principal | None:
    row = db.execute(
        select(User.id, User.username, User.role, User.jurisdiction_id, Jurisdiction.path, User.supervisee_id)
        .join(Jurisdiction, Jurisdiction.id == User.jurisdiction_id)
        .where(User.id == user_id, User.active.is_(True))
    ).first()
    return Principal(*row) if row else None


def current_principal(
    request: Request,
    db: Annotated[Session, Depends(get_db)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token")
    state = request.app.state
    try:
        user_id = decode_access_token(state.settings.auth, credentials.credentials, now=state.clock.now())
    except TokenError:
        raise Unauthorized("invalid or expired token") from None
    principal = load_principal(db, user_id)
    if principal is None:
        raise Unauthorized("invalid or expired token")
    return principal


def get_ctx(
    request: Request,
    db: Annotated[Session, Depends(get_db)],
    principal: Annotated[Principal, Depends(current_principal)],
) -> Ctx:
    state = request.app.state
    return Ctx(db=db, request=request_context(request, principal), audit=state.audit, settings=state.settings,
               clock=state.clock)


def anonymous_ctx(request: Request, db: Annotated[Session, Depends(get_db)]) -> Ctx:
    state = request.app.state
    return Ctx(db=db, request=request_context(request), audit=state.audit, settings=state.settings, clock=state.clock)


class Paging:
    def __init__(self, request: Request, limit: int = Query(50, ge=1, description="page size (hard maximum applies)"),
                 offset: int = Query(0, ge=0, le=10_000_000)) -> None:
        maximum = request.app.state.settings.api.max_page_size
        if limit > maximum:
            raise Invalid(f"limit must be at most {maximum}", field="query.limit")
        self.limit = limit
        self.offset = offset


CtxDep = Annotated[Ctx, Depends(get_ctx)]
PagingDep = Annotated[Paging, Depends(Paging)]
