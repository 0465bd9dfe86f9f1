"""Who approves a sanction or a tier move, per jurisdiction (supervision.authority: levels, inheritance).

Defaults (``DEFAULTS``): praise, 训诫 and tier moves at the office (司法所);
警告 and every proposal to the police or the court need the district bureau
(区县司法局, the 社区矫正机构 of Law art. 28). Only managers write policies.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.context import Ctx
from core.errors import Invalid
from sanctions.models import SanctionKind, SanctionPolicy
from supervision.authority import RANK, inherited
from supervision.jurisdictions import get_scoped as scoped_jurisdiction
from supervision.models import Role
from supervision.scope import require_role

FIELDS = ("praise_level", "admonition_level", "warning_level", "proposal_level", "tier_level")
DEFAULTS = {"praise_level": "office", "admonition_level": "office", "warning_level": "bureau",
            "proposal_level": "bureau", "tier_level": "office"}
_FIELD_OF = {SanctionKind.praise: "praise_level", SanctionKind.admonition: "admonition_level",
             SanctionKind.warning: "warning_level"}


def effective(db: Session, jurisdiction_id: int) -> dict[str, str]:
    return {**DEFAULTS, **inherited(db, SanctionPolicy, jurisdiction_id, FIELDS)}


def level_for(db: Session, office_id: int, kind: str) -> str:
    """The level a decision on a ``kind`` sanction (or "tier") needs today."""
    name = "tier_level" if kind == "tier" else _FIELD_OF.get(SanctionKind(kind), "proposal_level")
    return effective(db, office_id)[name]


def get_policy(*, ctx: Ctx, jurisdiction_id: int) -> dict:
    require_role(ctx.principal, {Role.officer, Role.manager, Role.auditor}, "read sanction policies")
    scoped_jurisdiction(ctx, jurisdiction_id)
    own = ctx.db.get(SanctionPolicy, jurisdiction_id)
    ctx.record("sanction_policy.read", "jurisdiction", jurisdiction_id)
    return {"jurisdiction_id": jurisdiction_id, "effective": effective(ctx.db, jurisdiction_id),
            "own": {n: getattr(own, n) for n in FIELDS} if own else {}}


def set_policy(*, ctx: Ctx, jurisdiction_id: int, values: dict) -> dict:
    """Replace a jurisdiction's own levels (None = inherit); pending decisions need the stricter of both."""
    require_role(ctx.principal, {Role.manager}, "change sanction policies")
    scoped_jurisdiction(ctx, jurisdiction_id)
    for name in FIELDS:
        if values.get(name) not in (None, *RANK):
            raise Invalid(f"{name} must be office or bureau", field=name)
    row = ctx.db.get(SanctionPolicy, jurisdiction_id) or SanctionPolicy(jurisdiction_id=jurisdiction_id)
    ctx.db.add(row)
    for name in FIELDS:
        setattr(row, name, values.get(name))
    row.updated_by, row.updated_at = ctx.principal.user_id, ctx.clock.now()
    ctx.db.flush()
    ctx.record("sanction_policy.set", "jurisdiction", jurisdiction_id, detail={n: values.get(n) for n in FIELDS})
    return get_policy(ctx=ctx, jurisdiction_id=jurisdiction_id)
