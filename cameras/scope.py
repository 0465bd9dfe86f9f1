"""Which cameras a caller may see, built on ``supervision.scope``.

Camera rows hold no personal data, so admins (who register them) see those of
their subtree as well as the staff readers (officers their office, managers
and auditors their bureau). Supervisees see none. Out of scope is 404.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement

from cameras.models import Camera
from core.principal import Principal
from supervision.models import Role
from supervision.scope import ACCOUNT_ADMINS, office_scope, require_role, subtree_ids


def camera_clause(principal: Principal) -> ColumnElement[bool]:
    """Rows of ``cameras`` this caller may read."""
    if principal.role in ACCOUNT_ADMINS:
        return Camera.jurisdiction_id.in_(subtree_ids(principal))
    return office_scope(principal, Camera.jurisdiction_id)


def require_admin(principal: Principal, what: str) -> None:
    require_role(principal, {Role.admin}, what)
