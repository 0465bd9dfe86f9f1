"""The bureau's queue of held registrations: managers see and resolve those of their jurisdiction."""
from __future__ import annotations

from sqlalchemy import func, select

from core.context import Ctx
from core.errors import Conflict, NotFound
from core.schemas import Page
from supervision import decisions
from supervision.models import Registration, Role, Supervisee
from supervision.schemas import RegistrationOut
from supervision.scope import require_role, subtree_ids, supervisee_clause
from supervision.supervisees import add_supervisee, check_placement

REVIEWERS = {Role.manager}


def _out(ctx: Ctx, row: Registration) -> RegistrationOut:
    out = RegistrationOut.model_validate(row)
    if row.status == "pending":
        match = ctx.db.scalar(select(Supervisee.id).where(Supervisee.id_hash == row.id_hash))
        visible = match is not None and ctx.db.scalar(
            select(Supervisee.id).where(Supervisee.id == match, supervisee_clause(ctx.principal))) is not None
        out.matching_supervisee_id = match if visible else None
        out.match_elsewhere = match is not None and not visible
    return out


def list_registrations(*, ctx: Ctx, limit: int, offset: int, status: str | None = "pending") -> Page[RegistrationOut]:
    require_role(ctx.principal, REVIEWERS, "review registrations")
    where = [Registration.office_id.in_(subtree_ids(ctx.principal))]
    if status is not None:
        where.append(Registration.status == status)
    total = ctx.db.scalar(select(func.count()).select_from(Registration).where(*where)) or 0
    rows = list(ctx.db.scalars(select(Registration).where(*where).order_by(Registration.id).limit(limit).offset(offset)))
    ctx.record("registration.list", "registration", None, detail={"ids": [r.id for r in rows]})
    return Page(items=[_out(ctx, r) for r in rows], total=total, limit=limit, offset=offset)


def _pending(ctx: Ctx, registration_id: int, action: str) -> Registration:
    require_role(ctx.principal, REVIEWERS, "review registrations")
    row = ctx.db.scalar(select(Registration).where(
        Registration.id == registration_id, Registration.office_id.in_(subtree_ids(ctx.principal))).with_for_update())
    if row is None:
        raise NotFound()
    decisions.require_second_person(ctx, row, action=action, kind="registration", involved=(row.requested_by,),
                                    reason="own registration",
                                    message="nobody decides a registration they made themselves")
    decisions.require_pending(row, "registration")
    return row


def accept(*, ctx: Ctx, registration_id: int, reason: str) -> RegistrationOut:
    """Write the held registration as a supervisee record (the caller syncs its permitted area)."""
    row = _pending(ctx, registration_id, "registration.accept")
    if ctx.db.scalar(select(Supervisee.id).where(Supervisee.id_hash == row.id_hash)) is not None:
        raise Conflict("a record with this national ID is on file; end or transfer it, or reject this registration")
    check_placement(ctx, row.data["office_id"], row.data.get("officer_id"))
    sup = add_supervisee(ctx, row.data, id_hash=row.id_hash, id_last4=row.id_last4, detail={"registration": row.id})
    row.supervisee_id = sup.id
    decisions.stamp(ctx, row, "accepted", reason)
    ctx.db.flush()
    ctx.record("registration.accept", "registration", row.id, detail={"supervisee_id": sup.id})
    return _out(ctx, row)


def reject(*, ctx: Ctx, registration_id: int, reason: str) -> RegistrationOut:
    row = _pending(ctx, registration_id, "registration.reject")
    decisions.stamp(ctx, row, "rejected", reason)
    ctx.db.flush()
    ctx.record("registration.reject", "registration", row.id, detail={"office_id": row.office_id})
    return _out(ctx, row)
