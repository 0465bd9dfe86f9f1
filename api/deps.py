"""FastAPI dependencies: the unit of work, the caller, the context."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import Ctx
from core.errors import Invalid, NotFound, ServiceError, Unauthorized
from core.principal import Principal, RequestContext
from core.security import TokenError, decode_access_claims
from supervision.models import Jurisdiction, User

_bearer = HTTPBearer(auto_error=False)


def get_db(request: Request) -> Iterator[Session]:
    """Open the request's session (tests override this with their rolled-back one)."""
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


@dataclass
class UnitOfWork:
    """The one transaction of a request, and what it must keep if it is refused."""

    session: Session
    request: Request
    ctx: Ctx | None = None  # set once the caller is known (get_ctx / anonymous_ctx)

    def keep_refusal(self, exc: ServiceError) -> None:
        """After the rollback: write the refusal's audit rows again, or one generic row."""
        ctx = self.ctx
        if ctx is None:
            return  # nobody authenticated yet: nothing to attribute, nothing written
        rows = ctx.take_refusals()
        if not rows and ctx.request.principal is not None:
            route = self.request.scope.get("route")
            object_type, object_id = _path_object(self.request)
            rows = [dict(action=getattr(route, "name", None) or self.request.url.path[:64],
                         object_type=object_type, object_id=object_id,
                         outcome="not_found" if isinstance(exc, NotFound) else "refused",
                         # Bounded: the message may quote the caller's input, and the trail keeps it forever.
                         detail={"status": exc.status, "message": exc.message[:500], "field": exc.field})]
        for row in rows:
            ctx.record(**row)
        for write in ctx.take_kept():
            write(self.session)


def _path_object(request: Request) -> tuple[str | None, object]:
    """The object a route acts on, from its first ``…_id`` path parameter."""
    for name, value in request.path_params.items():
        if name.endswith("_id"):
            return name[:-3], value
    return None, None


def unit_of_work(request: Request, session: Annotated[Session, Depends(get_db)]) -> Iterator[UnitOfWork]:
    """Every route's transaction, with one policy.

    - Success: commit after the response body is built and before it is sent,
      so whatever a caller is told was done is durable, and an answer that
      fails to serialise commits nothing.
    - A refusal (a ServiceError: 4xx): roll back everything the request did,
      then write its refusal audit rows again (those the service recorded, or
      one generic row naming the route and object), plus the writes the
      request asked to keep on refusal (``Ctx.keep_on_refusal``: the failed-
      login counter), and commit only those. A refusal never leaves half an
      action behind, and never leaves no trace.
    - Anything else: roll back; nothing is committed.
    """
    uow = UnitOfWork(session=session, request=request)
    try:
        yield uow
    except ServiceError as exc:
        session.rollback()
        uow.keep_refusal(exc)
        session.commit()
        raise
    except BaseException:
        session.rollback()
        raise
    else:
        session.commit()


# scope="function": the exit (the commit) runs before the response is sent.
UowDep = Annotated[UnitOfWork, Depends(unit_of_work, scope="function")]


@contextmanager
def transaction(request: Request) -> Iterator[Session]:
    """A request's one transaction, opened where it is needed rather than by FastAPI:
    unit_of_work's policy for a caller nobody has authenticated as a principal
    (a device): commit on success, roll back on anything else. The device ingest
    routes use it because a sync dependency costs each request two hops to a
    worker thread, and most of their requests never need a session of their own
    (they join a group commit). Honours a test's override of get_db."""
    provider = request.app.dependency_overrides.get(get_db, get_db)
    sessions = provider(request)
    session = next(sessions)
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    else:
        session.commit()
    finally:
        sessions.close()


def request_context(request: Request, principal: Principal | None = None) -> RequestContext:
    client = request.client.host if request.client else None
    return RequestContext(principal=principal, request_id=request.state.request_id, source_addr=client)


def load_principal(db: Session, user_id: int) -> Principal | None:
    row = db.execute(
        select(User.id, User.username, User.role, User.jurisdiction_id, Jurisdiction.path, User.supervisee_id,
               User.token_version)
        .join(Jurisdiction, Jurisdiction.id == User.jurisdiction_id)
        .where(User.id == user_id, User.active.is_(True))
    ).first()
    return Principal(*row) if row else None


def current_principal(
    request: Request,
    uow: UowDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token")
    state = request.app.state
    try:
        claims = decode_access_claims(state.settings.auth, credentials.credentials, now=state.clock.now())
    except TokenError:
        raise Unauthorized("invalid or expired token") from None
    principal = load_principal(uow.session, claims.user_id)
    # A password change since the token was issued revoked it (token_version).
    if principal is None or principal.token_version != claims.token_version:
        raise Unauthorized("invalid or expired token")
    # A websocket ticket bought with this token must not outlive it (api/routes/ws.py).
    request.state.token_expires_at = claims.expires_at
    return principal


def _ctx(request: Request, uow: UnitOfWork, principal: Principal | None) -> Ctx:
    state = request.app.state
    uow.ctx = Ctx(db=uow.session, request=request_context(request, principal), audit=state.audit,
                  settings=state.settings, clock=state.clock)
    return uow.ctx


def get_ctx(request: Request, uow: UowDep, principal: Annotated[Principal, Depends(current_principal)]) -> Ctx:
    return _ctx(request, uow, principal)


def anonymous_ctx(request: Request, uow: UowDep) -> Ctx:
    return _ctx(request, uow, None)


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
