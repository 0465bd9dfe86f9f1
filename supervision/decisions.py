"""A second person's decision on a pending row (account requests, held registrations):
the same columns (status, decided_by, decided_at, decision_reason) and the same rule."""
from __future__ import annotations

from typing import Any

from core.context import Ctx
from core.errors import Conflict, Forbidden


def require_second_person(ctx: Ctx, row: Any, *, action: str, kind: str, involved: tuple[int | None, ...],
                          reason: str, message: str) -> None:
    """Separation of duties: nobody decides a row they are party to (``involved``); the
    refusal is audited (it survives the rollback through ``ctx.record``)."""
    if ctx.principal.user_id in involved:
        ctx.record(action, kind, row.id, outcome="refused", detail={"reason": reason})
        raise Forbidden(message)


def require_pending(row: Any, noun: str) -> None:
    if row.status != "pending":
        raise Conflict(f"this {noun} is already {row.status}")


def stamp(ctx: Ctx, row: Any, status: str, reason: str) -> None:
    """Record who decided, when, what and why."""
    row.status, row.decided_by, row.decided_at, row.decision_reason = \
        status, ctx.principal.user_id, ctx.clock.now(), reason
