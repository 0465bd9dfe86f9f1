"""User accounts: staff and supervisees. No default passwords anywhere, and no
password an administrator knows: accounts and resets go through activation
codes (supervision/activation.py) and, for sensitive roles, a manager's
approval (supervision/account_requests.py)."""
from __future__ import annotations

from sqlalchemy import func, select

from core.context import Ctx
from core.errors import Forbidden, Invalid, NotFound
from core.security import UNUSABLE_PASSWORD, hash_password
from supervision import account_requests as requests
from supervision import activation, jurisdictions
from supervision.account_requests import Rule
from supervision.models import JurisdictionLevel, Role, Supervisee, User
from core.schemas import Page
from supervision.schemas import AccountRequestOut, UserActivation, UserIn, UserOut, UserUpdate
from supervision.scope import ACCOUNT_ADMINS, require_role, supervisee_clause, user_clause


def list_users(*, ctx: Ctx, limit: int, offset: int, role: Role | None = None) -> Page[UserOut]:
    require_role(ctx.principal, ACCOUNT_ADMINS | {Role.manager, Role.officer, Role.auditor, Role.supervisee}, "list accounts")
    where = [user_clause(ctx.principal)]
    if role is not None:
        where.append(User.role == role)
    total = ctx.db.scalar(select(func.count()).select_from(User).where(*where)) or 0
    rows = ctx.db.scalars(select(User).where(*where).order_by(User.id).limit(limit).offset(offset))
    return Page(items=[UserOut.model_validate(u) for u in rows], total=total, limit=limit, offset=offset)


def _get_scoped(ctx: Ctx, user_id: int) -> User:
    row = ctx.db.scalar(select(User).where(User.id == user_id, user_clause(ctx.principal)))
    if row is None:
        raise NotFound()
    return row


def get_user(*, ctx: Ctx, user_id: int) -> UserOut:
    return UserOut.model_validate(_get_scoped(ctx, user_id))


def create_user(*, ctx: Ctx, data: UserIn) -> UserActivation | AccountRequestOut:
    """An administrator's new account: made with an activation code, or asked of a manager (account_requests)."""
    require_role(ctx.principal, ACCOUNT_ADMINS, "create accounts")
    rule = requests.rule_for(data.role)
    target = jurisdictions.get_scoped(ctx, data.jurisdiction_id)
    if data.role == Role.officer and target.level == JurisdictionLevel.bureau:
        # An officer's scope is its jurisdiction: one made at a bureau would read the
        # whole district without the manager's approval a bureau-wide role needs.
        raise Invalid("an officer belongs to a justice office (or grid), not a bureau", field="jurisdiction_id")
    if data.supervisee_id is not None:
        supervisee = ctx.db.get(Supervisee, data.supervisee_id)
        # An admin cannot read supervisee records, so check existence and
        # placement without going through the read scope.
        if supervisee is None or not target.path or supervisee.office.path != target.path:
            raise Invalid("supervisee_id must name a supervisee of the given jurisdiction", field="supervisee_id")
    requests.check_new_account(ctx, data.username, data.supervisee_id)
    if rule is Rule.approval:
        return requests.ask(ctx, kind="create", role=data.role, username=data.username, full_name=data.full_name,
                            jurisdiction_id=target.id, supervisee_id=data.supervisee_id)
    user = User(username=data.username, password_hash=UNUSABLE_PASSWORD, full_name=data.full_name,
                role=data.role, jurisdiction_id=target.id, supervisee_id=data.supervisee_id)
    ctx.db.add(user)
    ctx.db.flush()
    ctx.record("user.create", "user", user.id, detail={"username": user.username, "role": user.role})
    return requests.activation_for(ctx, user, purpose="create")


RESET_NOTICE = ("Your password was reset by an administrator on {when} (UTC); every session you had was ended. "
                "If you did not ask for this, tell your manager.")


def reset_password(*, ctx: Ctx, user_id: int) -> UserActivation | AccountRequestOut:
    """An administrator's reset: sessions end and the password stops working now; a new code replaces it."""
    require_role(ctx.principal, ACCOUNT_ADMINS, "reset passwords")
    row = _get_scoped(ctx, user_id)
    rule = requests.rule_for(row.role)
    if row.id == ctx.principal.user_id:
        raise Forbidden("change your own password with PATCH /users/{id}")
    activation.unset_password(row)
    ctx.record("user.reset", "user", row.id, detail={"username": row.username, "role": row.role})
    activation.notify(ctx, row, kind="password_reset",
                      message=RESET_NOTICE.format(when=ctx.clock.now().strftime("%Y-%m-%d %H:%M")))
    if rule is Rule.approval:
        return requests.ask(ctx, kind="reset", role=row.role, username=row.username, full_name=row.full_name,
                            jurisdiction_id=row.jurisdiction_id, supervisee_id=row.supervisee_id, user_id=row.id)
    return requests.activation_for(ctx, row, purpose="reset")


def update_user(*, ctx: Ctx, user_id: int, data: UserUpdate) -> UserOut:
    principal = ctx.principal
    row = _get_scoped(ctx, user_id)
    changes = data.model_dump(exclude_unset=True)
    if principal.role not in ACCOUNT_ADMINS:
        # Anyone may change their own password and name; nothing else.
        if row.id != principal.user_id or changes.keys() & {"active", "bureau_head"}:
            raise Forbidden(f"role {principal.role} may only change its own name and password")
        if principal.role == Role.auditor and set(changes) - {"password"}:
            # An auditor changes nothing it could later be audited on, its own record included.
            raise Forbidden("an auditor may only change its own password")
    elif "password" in changes and row.id != principal.user_id:
        # Separation of duties: an administrator never knows anyone's password.
        raise Forbidden(f"an administrator does not set passwords; POST /users/{row.id}/reset issues an "
                        "activation code the user redeems with their own")
    if row.id == principal.user_id and changes.get("active") is False:
        raise Invalid("you cannot deactivate your own account", field="active")
    if "password" in changes:
        row.password_hash = hash_password(changes.pop("password"))
        row.revoke_sessions()  # own change or reset: every earlier token and socket ends
        changes["password"] = "changed"
    if changes.get("bureau_head") and not (row.role == Role.manager and row.jurisdiction.level == "bureau"):
        raise Invalid("only a manager of a district bureau can be its head", field="bureau_head")
    for name in ("full_name", "active", "bureau_head"):
        if name in changes:
            setattr(row, name, changes[name])
    ctx.db.flush()
    ctx.record("user.update", "user", row.id, detail={"fields": sorted(changes)})
    return UserOut.model_validate(row)


def supervisee_visible(ctx: Ctx, supervisee_id: int) -> bool:
    return ctx.db.scalar(select(Supervisee.id).where(Supervisee.id == supervisee_id, supervisee_clause(ctx.principal))) is not None
