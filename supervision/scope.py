"""Jurisdiction scoping: the one place that decides what a caller may see.

Every query for a scoped object goes through a clause from here. An object
out of scope is filtered out of lists and answers 404 on get, exactly like
an object that does not exist.

- officer: their office and everything below it (grids);
- manager, auditor: their bureau and every office below it;
- admin: accounts, jurisdictions and devices in their subtree, but no
  supervisee records (they hold location data: residence, tracks);
- supervisee: only themself.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, false, select

from core.errors import Forbidden
from core.principal import Principal
from supervision.models import Jurisdiction, Role, Supervisee, User

STAFF_READERS = {Role.officer, Role.manager, Role.auditor}
SUPERVISEE_WRITERS = {Role.officer, Role.manager}
ACCOUNT_ADMINS = {Role.admin}


def subtree_ids(principal: Principal):
    """Ids of the caller's jurisdiction and everything below it (a subquery)."""
    return select(Jurisdiction.id).where(Jurisdiction.path.startswith(principal.jurisdiction_path, autoescape=True))


def jurisdiction_clause(principal: Principal) -> ColumnElement[bool]:
    if principal.role == Role.supervisee:
        return false()
    return Jurisdiction.path.startswith(principal.jurisdiction_path, autoescape=True)


def supervisee_clause(principal: Principal) -> ColumnElement[bool]:
    """Rows of ``supervisees`` this caller may read."""
    if principal.role == Role.supervisee:
        return Supervisee.id == principal.supervisee_id
    if principal.role in STAFF_READERS:
        return Supervisee.office_id.in_(subtree_ids(principal))
    return false()


def user_clause(principal: Principal) -> ColumnElement[bool]:
    if principal.role == Role.supervisee:
        return User.id == principal.user_id
    return User.jurisdiction_id.in_(subtree_ids(principal))


def device_owner_clause(principal: Principal) -> ColumnElement[bool]:
    """Devices are visible where their supervisee's office is in the subtree."""
    if principal.role == Role.supervisee:
        return Supervisee.id == principal.supervisee_id
    return Supervisee.office_id.in_(subtree_ids(principal))


def office_scope(principal: Principal, column: ColumnElement[int]) -> ColumnElement[bool]:
    """Rows whose office ``column`` lies in a staff reader's subtree; every other role sees none.

    Officers get their office and below, managers and auditors their bureau.
    Packages build their own clauses from this (alerts.scope), so this module
    never needs to know their tables.
    """
    if principal.role in STAFF_READERS:
        return column.in_(subtree_ids(principal))
    return false()


def bureau_config_clause(principal: Principal, bureau_column: ColumnElement[int]) -> ColumnElement[bool]:
    """Per-bureau configuration (webhooks): managers, auditors and admins of the bureau."""
    if principal.role in (Role.manager, Role.auditor, Role.admin):
        return bureau_column.in_(subtree_ids(principal))
    return false()


def require_role(principal: Principal, allowed: set[Role], what: str) -> None:
    if principal.role not in allowed:
        raise Forbidden(f"role {principal.role} may not {what}")

