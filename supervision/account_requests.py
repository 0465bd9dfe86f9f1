"""Account requests that need a second person (GB/T 22239 level 3 separation of duties).

Who may do what to an account, by its role (``RULES``; the same for a new
account and for a password reset):

- officer: the administrator, directly. The activation code is shown to the
  administrator, who hands it over.
- manager, auditor, supervisee: the administrator only asks; the request waits
  until a manager whose jurisdiction contains the account's approves it (or
  rejects it). The code is shown to that manager, never to the administrator,
  so an administrator cannot activate such an account for itself. Nobody
  decides a request about their own account.
- admin: not through the API at all; an operator creates administrators with
  ``zhijiao users create-admin`` (api/cli.py) on the server.

A reset ends the user's sessions and unsets the password at once, pending or
not: the old password must not outlive the decision to replace it.
"""
from __future__ import annotations

from enum import StrEnum

from sqlalchemy import func, select

from core.context import Ctx
from core.errors import Conflict, Forbidden, NotFound
from core.schemas import Page
from core.security import UNUSABLE_PASSWORD
from supervision import activation
from supervision import decisions
from supervision.models import AccountRequest, Role, User
from supervision.schemas import AccountRequestOut, UserActivation, UserOut
from supervision.scope import ACCOUNT_ADMINS, require_role, subtree_ids


class Rule(StrEnum):
    direct = "direct"  # the administrator does it
    approval = "approval"  # the administrator asks, a manager above decides
    operator = "operator"  # the operator's CLI only


RULES: dict[str, Rule] = {Role.officer: Rule.direct, Role.manager: Rule.approval, Role.auditor: Rule.approval,
                          Role.supervisee: Rule.approval, Role.admin: Rule.operator}
OPERATOR_ONLY = "administrator accounts are created and reset by an operator on the server (zhijiao users create-admin)"


def rule_for(role: str) -> Rule:
    rule = RULES[role]
    if rule is Rule.operator:
        raise Forbidden(OPERATOR_ONLY)
    return rule


def check_new_account(ctx: Ctx, username: str, supervisee_id: int | None, *, pending_too: bool = True) -> None:
    """The username is free (also among open requests) and a supervisee gets at most one login."""
    taken = ctx.db.scalar(select(User.id).where(User.username == username)) is not None
    if pending_too and not taken:
        taken = ctx.db.scalar(select(AccountRequest.id).where(
            AccountRequest.username == username, AccountRequest.kind == "create",
            AccountRequest.status == "pending")) is not None
    if taken:
        raise Conflict("username already taken", field="username")
    if supervisee_id is not None and ctx.db.scalar(select(User.id).where(User.supervisee_id == supervisee_id)):
        raise Conflict("this supervisee already has a login", field="supervisee_id")


def activation_for(ctx: Ctx, user: User, *, purpose: str) -> UserActivation:
    code, expires = activation.issue_code(ctx, user, purpose=purpose)
    return UserActivation(**UserOut.model_validate(user).model_dump(), activation_code=code,
                          activation_expires_at=expires)


def ask(ctx: Ctx, *, kind: str, role: str, username: str, full_name: str, jurisdiction_id: int,
        supervisee_id: int | None = None, user_id: int | None = None) -> AccountRequestOut:
    """Record an administrator's request for a manager to decide."""
    row = AccountRequest(kind=kind, status="pending", role=role, username=username, full_name=full_name,
                         jurisdiction_id=jurisdiction_id, supervisee_id=supervisee_id, user_id=user_id,
                         requested_by=ctx.principal.user_id, requested_at=ctx.clock.now())
    ctx.db.add(row)
    ctx.db.flush()
    ctx.record("account_request.create", "account_request", row.id,
               detail={"kind": kind, "role": role, "username": username, "user_id": user_id})
    return AccountRequestOut.model_validate(row)


def _scoped(ctx: Ctx, request_id: int, *, lock: bool = False) -> AccountRequest:
    query = select(AccountRequest).where(AccountRequest.id == request_id,
                                         AccountRequest.jurisdiction_id.in_(subtree_ids(ctx.principal)))
    row = ctx.db.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound()
    return row


def list_requests(*, ctx: Ctx, limit: int, offset: int, status: str | None = "pending") -> Page[AccountRequestOut]:
    require_role(ctx.principal, ACCOUNT_ADMINS | {Role.manager}, "list account requests")
    where = [AccountRequest.jurisdiction_id.in_(subtree_ids(ctx.principal))]
    if status is not None:
        where.append(AccountRequest.status == status)
    total = ctx.db.scalar(select(func.count()).select_from(AccountRequest).where(*where)) or 0
    rows = ctx.db.scalars(select(AccountRequest).where(*where).order_by(AccountRequest.id).limit(limit).offset(offset))
    return Page(items=[AccountRequestOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)


def _decidable(ctx: Ctx, request_id: int, action: str) -> AccountRequest:
    require_role(ctx.principal, {Role.manager}, "decide account requests")
    row = _scoped(ctx, request_id, lock=True)
    decisions.require_second_person(ctx, row, action=action, kind="account_request",
                                    involved=(row.user_id, row.requested_by), reason="own account",
                                    message="nobody decides a request about their own account")
    decisions.require_pending(row, "request")
    return row


def approve(*, ctx: Ctx, request_id: int, reason: str) -> UserActivation:
    """Carry out the request; the activation code goes to the approving manager."""
    row = _decidable(ctx, request_id, "account_request.approve")
    if row.kind == "create":
        check_new_account(ctx, row.username, row.supervisee_id, pending_too=False)
        user = User(username=row.username, password_hash=UNUSABLE_PASSWORD, full_name=row.full_name, role=row.role,
                    jurisdiction_id=row.jurisdiction_id, supervisee_id=row.supervisee_id)
        ctx.db.add(user)
        ctx.db.flush()
        row.user_id = user.id
        ctx.record("user.create", "user", user.id, detail={"username": user.username, "role": user.role,
                                                           "account_request": row.id})
    else:
        user = ctx.db.get(User, row.user_id)
    decisions.stamp(ctx, row, "approved", reason)
    ctx.db.flush()
    ctx.record("account_request.approve", "account_request", row.id, detail={"kind": row.kind, "user_id": user.id})
    return activation_for(ctx, user, purpose=row.kind)


def reject(*, ctx: Ctx, request_id: int, reason: str) -> AccountRequestOut:
    row = _decidable(ctx, request_id, "account_request.reject")
    decisions.stamp(ctx, row, "rejected", reason)
    ctx.db.flush()
    ctx.record("account_request.reject", "account_request", row.id, detail={"kind": row.kind})
    return AccountRequestOut.model_validate(row)
