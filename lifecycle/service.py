"""Officers' and managers' acts on the end of term: early release, legal holds, reading the record.

- Early release (an officer of the person's office, or a manager of the
  bureau): the same end as the term-end job (lifecycle.term), now, with reason.
- A legal hold (an open case or appeal) is set by an officer or manager in
  scope, with reason; it is lifted only by a manager who did not set it (a
  lift lets the purge delete data: a second person decides), with reason.
- Everything is audited; out of scope is answered like absent (404).
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from core.context import Ctx
from core.errors import Conflict, NotFound
from lifecycle.models import LegalHold, PurgeRecord, Release
from lifecycle.schemas import HoldOut, LifecycleOut, PurgeRecordOut, ReleaseOut
from lifecycle.term import TermEndStep, release, term_end_instant
from supervision.decisions import require_second_person
from supervision.models import Role, Supervisee, SuperviseeStatus
from supervision.scope import require_role, supervisee_clause

DECIDERS = {Role.officer, Role.manager}
READERS = DECIDERS | {Role.auditor}


def _scoped(ctx: Ctx, supervisee_id: int, action: str, *, lock: bool = False) -> Supervisee:
    query = select(Supervisee).where(Supervisee.id == supervisee_id, supervisee_clause(ctx.principal))
    row = ctx.db.scalar(query.with_for_update(of=Supervisee) if lock else query)
    if row is None:
        ctx.record(action, "supervisee", supervisee_id, outcome="not_found")
        raise NotFound()
    return row


def release_early(*, ctx: Ctx, supervisee_id: int, reason: str, steps: Sequence[TermEndStep]) -> ReleaseOut:
    """End the supervision now (e.g. 撤销缓刑, 收监, death, a court's decision), with reason."""
    require_role(ctx.principal, DECIDERS, "end a supervision")
    sup = _scoped(ctx, supervisee_id, "supervision.release", lock=True)
    if sup.status == SuperviseeStatus.ended:
        raise Conflict(f"supervisee {sup.id}'s supervision has already ended")
    row = release(ctx, sup, kind="early", at=ctx.clock.now(), reason=reason, released_by=ctx.principal.user_id,
                  steps=steps)
    return ReleaseOut.model_validate(row)


def set_hold(*, ctx: Ctx, supervisee_id: int, reason: str) -> HoldOut:
    require_role(ctx.principal, DECIDERS, "set a legal hold")
    sup = _scoped(ctx, supervisee_id, "legal_hold.set", lock=True)
    hold = LegalHold(supervisee_id=sup.id, reason=reason, set_by=ctx.principal.user_id, set_at=ctx.clock.now())
    ctx.db.add(hold)
    ctx.db.flush()
    ctx.record("legal_hold.set", "supervisee", sup.id, detail={"hold_id": hold.id, "reason": reason})
    return HoldOut.model_validate(hold)


def lift_hold(*, ctx: Ctx, hold_id: int, reason: str) -> HoldOut:
    require_role(ctx.principal, {Role.manager}, "lift a legal hold")
    hold = ctx.db.scalar(select(LegalHold).join(Supervisee, Supervisee.id == LegalHold.supervisee_id)
                         .where(LegalHold.id == hold_id, supervisee_clause(ctx.principal))
                         .with_for_update(of=LegalHold))
    if hold is None:
        ctx.record("legal_hold.lift", "legal_hold", hold_id, outcome="not_found")
        raise NotFound()
    if hold.lifted_at is not None:
        raise Conflict(f"legal hold {hold.id} was already lifted")
    require_second_person(ctx, hold, action="legal_hold.lift", kind="legal_hold", involved=(hold.set_by,),
                          reason="set_by_self", message="a legal hold is lifted by another manager than who set it")
    hold.lifted_by, hold.lifted_at, hold.lift_reason = ctx.principal.user_id, ctx.clock.now(), reason
    ctx.db.flush()
    ctx.record("legal_hold.lift", "legal_hold", hold.id,
               detail={"supervisee_id": hold.supervisee_id, "reason": reason})
    return HoldOut.model_validate(hold)


def get_lifecycle(*, ctx: Ctx, supervisee_id: int) -> LifecycleOut:
    require_role(ctx.principal, READERS, "read end-of-term records")
    sup = _scoped(ctx, supervisee_id, "lifecycle.read")
    rel = ctx.db.scalar(select(Release).where(Release.supervisee_id == sup.id))
    holds = ctx.db.scalars(select(LegalHold).where(LegalHold.supervisee_id == sup.id).order_by(LegalHold.id))
    purges = ctx.db.scalars(select(PurgeRecord).where(PurgeRecord.supervisee_id == sup.id).order_by(PurgeRecord.id))
    ctx.record("lifecycle.read", "supervisee", sup.id)
    return LifecycleOut(supervisee_id=sup.id, status=sup.status, term_end_at=term_end_instant(sup.term_end),
                        release=ReleaseOut.model_validate(rel) if rel else None,
                        holds=[HoldOut.model_validate(h) for h in holds],
                        purges=[PurgeRecordOut.model_validate(p) for p in purges])
