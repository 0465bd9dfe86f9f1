"""The end of a supervision (解矫, Law art. 44): monitoring stops, a release record is made.

Stopping monitoring is a tuple of steps, each ``step(ctx, *, supervisee_id, at)
-> {what: count}``, composed in api.app (``TERM_END_STEPS``) so a package
above this one (orders/) plugs its own step in without lifecycle importing it.
The steps here: the supervisee's account is closed, devices disabled, fences
retired from ``at`` (geo.fences.writer), and unresolved alerts resolved as
``term_ended`` (through alerts.intake: alerts own their transitions).
Status ``ended`` itself makes ingest refuse the devices' fixes and check-ins
end their plans.

The term ends at local midnight after ``term_end`` (the last day is served
whole). A purge is scheduled ``purge_retention_days`` after the release.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update

from alerts.facts import Subject, TermEnded
from alerts.intake import apply_facts
from core.context import Ctx
from core.errors import Conflict
from core.localtime import LOCAL_TZ
from geo.fences.writer import end_fence
from geo.models import Fence
from lifecycle.models import Release
from supervision.models import Device, Supervisee, SuperviseeStatus, User

TermEndStep = Callable[..., dict[str, int]]


def term_end_instant(term_end: date) -> datetime:
    """When a term ending on ``term_end`` is over: local midnight after that day."""
    return datetime.combine(term_end + timedelta(days=1), time(0), LOCAL_TZ)


def close_account(ctx: Ctx, *, supervisee_id: int, at: datetime) -> dict[str, int]:
    """The supervisee's own login stops working (tokens revoked by the version bump)."""
    n = ctx.db.execute(update(User).where(User.supervisee_id == supervisee_id, User.active.is_(True))
                       .values(active=False, token_version=User.token_version + 1)).rowcount
    return {"accounts_closed": n}


def disable_devices(ctx: Ctx, *, supervisee_id: int, at: datetime) -> dict[str, int]:
    n = ctx.db.execute(update(Device).where(Device.supervisee_id == supervisee_id, Device.active.is_(True))
                       .values(active=False)).rowcount
    return {"devices_disabled": n}


def retire_fences(ctx: Ctx, *, supervisee_id: int, at: datetime) -> dict[str, int]:
    fences = list(ctx.db.scalars(select(Fence).where(Fence.supervisee_id == supervisee_id,
                                                     Fence.retired_at.is_(None)).order_by(Fence.id)))
    for fence in fences:
        end_fence(ctx.db, fence, now=at)
    return {"fences_retired": len(fences)}


def close_alerts(ctx: Ctx, *, supervisee_id: int, at: datetime) -> dict[str, int]:
    sup = ctx.db.get(Supervisee, supervisee_id)
    [closed] = apply_facts(ctx.db, Subject(sup.id, sup.office_id, sup.tier), [TermEnded(at=at)],
                           now=ctx.clock.now(), cfg=ctx.settings.alerts)
    return {"alerts_closed": len(closed)}


# The steps lifecycle itself knows; api.app adds the ones of packages above it.
STEPS: tuple[TermEndStep, ...] = (close_account, disable_devices, retire_fences, close_alerts)


def release(ctx: Ctx, supervisee: Supervisee, *, kind: str, at: datetime, reason: str,
            released_by: int | None, steps: Sequence[TermEndStep]) -> Release:
    """End the supervision at ``at``: status ended, every step run, the release record made and audited."""
    if supervisee.status == SuperviseeStatus.ended or ctx.db.scalar(
            select(Release.id).where(Release.supervisee_id == supervisee.id)) is not None:
        raise Conflict(f"supervisee {supervisee.id}'s supervision has already ended")
    supervisee.status = SuperviseeStatus.ended
    ctx.db.flush()
    summary: dict[str, int] = {}
    for step in steps:
        summary.update(step(ctx, supervisee_id=supervisee.id, at=at))
    row = Release(supervisee_id=supervisee.id, kind=kind, released_at=at, released_by=released_by, reason=reason,
                  summary=summary, purge_due_at=at + timedelta(days=ctx.settings.lifecycle.purge_retention_days))
    ctx.db.add(row)
    ctx.db.flush()
    ctx.record("supervision.release", "supervisee", supervisee.id,
               detail={"kind": kind, "at": at.isoformat(), "summary": summary,
                       "purge_due_at": row.purge_due_at.isoformat()})
    return row
