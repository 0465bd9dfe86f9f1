"""Who may decide what, for a supervisee of an office: authority levels and policy inheritance.

One module for every decision that needs a level of approval (leave,
standing permits, sanctions, tier moves): a jurisdiction's policy names the
level a decision needs; the caller's role and jurisdiction give the level
they hold. Policies are inherited down the jurisdiction tree field by field:
the nearest jurisdiction (the office, then its bureau) that sets a value
wins, then the package's defaults.
"""
from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Forbidden
from core.principal import Principal
from supervision.jurisdictions import ancestor_chain
from supervision.models import Jurisdiction, JurisdictionLevel, Role


class AuthorityLevel(StrEnum):
    office = "office"  # 司法所
    bureau = "bureau"  # 区县司法局


RANK = {AuthorityLevel.office: 1, AuthorityLevel.bureau: 2}


def stricter(*levels: str) -> AuthorityLevel:
    """The highest of ``levels`` (a level recorded earlier and today's cannot be raced)."""
    return max((AuthorityLevel(lv) for lv in levels), key=RANK.__getitem__)


def inherited(db: Session, model: Any, jurisdiction_id: int, names: Iterable[str]) -> dict[str, Any]:
    """Field by field, the value of the nearest jurisdiction whose ``model`` row sets it (unset: absent).

    ``model`` is a policy table keyed by ``jurisdiction_id``; NULL means inherit.
    """
    chain = ancestor_chain(db, jurisdiction_id)
    rows = {r.jurisdiction_id: r for r in db.scalars(select(model).where(model.jurisdiction_id.in_(chain)))}
    values: dict[str, Any] = {}
    for name in names:
        for jid in chain:
            row = rows.get(jid)
            if row is not None and getattr(row, name) is not None:
                values[name] = getattr(row, name)
                break
    return values


def approver_level(db: Session, principal: Principal, office_id: int) -> AuthorityLevel | None:
    """The authority the caller holds over a supervisee of ``office_id``, if any.

    An officer of that very office holds office authority (a grid officer
    below it does not); a manager of a bureau above it holds bureau
    authority, which covers office-level decisions too.
    """
    office = db.get(Jurisdiction, office_id)
    if office is None:
        return None
    if principal.role == Role.officer and principal.jurisdiction_id == office_id:
        return AuthorityLevel.office
    if principal.role == Role.manager and office.path.startswith(principal.jurisdiction_path):
        level = db.scalar(select(Jurisdiction.level).where(Jurisdiction.id == principal.jurisdiction_id))
        if level == JurisdictionLevel.bureau:
            return AuthorityLevel.bureau
    return None


def require_authority(db: Session, principal: Principal, office_id: int, required: str, what: str) -> AuthorityLevel:
    """Refuse (403) unless the caller holds at least ``required`` authority; the level held."""
    held = approver_level(db, principal, office_id)
    if held is None or RANK[held] < RANK[AuthorityLevel(required)]:
        who = "a manager of the district bureau" if required == AuthorityLevel.bureau else \
            "an officer of the supervisee's justice office or a manager of its bureau"
        raise Forbidden(f"{what} needs approval at {required} level: only {who} may decide it")
    return held
