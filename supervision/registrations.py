"""Registrations held for the bureau (Law art. 21: the county bureau answers for intake).

A registration is held, not written, when its national ID is already on
record anywhere (the person is, or was, supervised: a transfer, a duplicate, a
mistake) or when the random quality sample picks it
(``ZHIJIAO_REGISTRATION_REVIEW_SHARE``). Both get the same answer, so an office
learns nothing about people outside its jurisdiction from it; the bureau's
managers resolve the queue (supervision/registration_review.py).
"""
from __future__ import annotations

import random

from sqlalchemy import select

from core.context import Ctx
from supervision.models import Registration, Supervisee
from supervision.schemas import RegistrationPending, SuperviseeIn

_random = random.SystemRandom()  # the sample must not be predictable by the caller


def _sampled(ctx: Ctx) -> bool:
    share = ctx.settings.supervision.registration_review_share
    return share > 0 and _random.random() < share


def hold_for_review(ctx: Ctx, data: SuperviseeIn, *, id_hash: str) -> RegistrationPending | None:
    """Queue the registration for the bureau when it must be reviewed; None when it may be written now."""
    sampled = _sampled(ctx)  # drawn every time, match or not
    matched = ctx.db.scalar(select(Supervisee.id).where(Supervisee.id_hash == id_hash)) is not None
    if not (matched or sampled):
        return None
    row = Registration(office_id=data.office_id, reason="national_id_match" if matched else "sample",
                       status="pending", id_hash=id_hash, id_last4=data.national_id[-4:],
                       data=data.model_dump(mode="json", exclude={"national_id"}),
                       requested_by=ctx.principal.user_id, requested_at=ctx.clock.now())
    ctx.db.add(row)
    ctx.db.flush()
    # The reason is for the bureau and the auditors, who read the trail; not for the caller.
    ctx.record("registration.create", "registration", row.id, detail={"office_id": row.office_id,
                                                                       "reason": row.reason})
    return RegistrationPending(id=row.id)
