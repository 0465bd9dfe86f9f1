"""Effective leave policy of a jurisdiction, and who may approve what.

Policies are inherited down the jurisdiction tree field by field: the nearest
jurisdiction (the office, then its bureau) that sets a value wins, and the
national defaults (社区矫正法实施办法: office up to 7 days, bureau beyond,
30 days per approval; permits 6 months, approved by the bureau) fill the
rest (supervision.authority: the same inheritance and levels for every
decision). Only managers write policies, so an office cannot loosen its own.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy.orm import Session

from core.context import Ctx
from core.errors import Invalid, NotFound
from leave.models import LeavePolicy
# The approval-authority rules are generic (sanctions and tier moves use them too).
from supervision.authority import RANK, AuthorityLevel, inherited
from supervision.models import Jurisdiction, Role
from supervision.scope import require_role


@dataclass(frozen=True)
class EffectivePolicy:
    office_max_days: int = 7
    max_days: int = 30
    yearly_cap_days: int | None = None
    min_notice_hours: int | None = None
    permit_max_months: int = 6
    permit_level: str = AuthorityLevel.bureau

    def level_for(self, days: int) -> AuthorityLevel:
        """The approver level a leave of ``days`` (in total) needs."""
        return AuthorityLevel.office if days <= self.office_max_days else AuthorityLevel.bureau


POLICY_FIELDS = tuple(f.name for f in fields(EffectivePolicy))


def leave_days(depart_at: datetime, return_at: datetime) -> int:
    """Days a leave counts for: started 24-hour periods (a 7 h trip is 1 day, 7 d 1 h is 8)."""
    return max(1, math.ceil((return_at - depart_at).total_seconds() / 86400 - 1e-9))


def effective_policy(db: Session, jurisdiction_id: int) -> EffectivePolicy:
    """The policy in force for a jurisdiction (nearest setting wins, then the default)."""
    return EffectivePolicy(**inherited(db, LeavePolicy, jurisdiction_id, POLICY_FIELDS))


# --- reading and writing policies (managers) ----------------------------------------

def _scoped_jurisdiction(ctx: Ctx, jurisdiction_id: int) -> Jurisdiction:
    row = ctx.db.get(Jurisdiction, jurisdiction_id)
    if row is None or not row.path.startswith(ctx.principal.jurisdiction_path) or ctx.principal.role == Role.supervisee:
        raise NotFound()
    return row


def get_policy(*, ctx: Ctx, jurisdiction_id: int) -> dict:
    """The effective policy and the jurisdiction's own settings."""
    require_role(ctx.principal, {Role.officer, Role.manager, Role.auditor}, "read leave policies")
    _scoped_jurisdiction(ctx, jurisdiction_id)
    own = ctx.db.get(LeavePolicy, jurisdiction_id)
    ctx.record("leave_policy.read", "jurisdiction", jurisdiction_id)
    return {"jurisdiction_id": jurisdiction_id, "effective": effective_policy(ctx.db, jurisdiction_id).__dict__,
            "own": {n: getattr(own, n) for n in POLICY_FIELDS} if own else {}}


def set_policy(*, ctx: Ctx, jurisdiction_id: int, values: dict) -> dict:
    """Replace a jurisdiction's own settings (None = inherit)."""
    require_role(ctx.principal, {Role.manager}, "change leave policies")
    _scoped_jurisdiction(ctx, jurisdiction_id)
    if values.get("permit_level") not in (None, *RANK):
        raise Invalid("permit_level must be office or bureau", field="permit_level")
    row = ctx.db.get(LeavePolicy, jurisdiction_id) or LeavePolicy(jurisdiction_id=jurisdiction_id)
    ctx.db.add(row)
    for name in POLICY_FIELDS:
        setattr(row, name, values.get(name))
    row.updated_by, row.updated_at = ctx.principal.user_id, ctx.clock.now()
    ctx.db.flush()
    ctx.record("leave_policy.set", "jurisdiction", jurisdiction_id, detail={n: values.get(n) for n in POLICY_FIELDS})
    return get_policy(ctx=ctx, jurisdiction_id=jurisdiction_id)
