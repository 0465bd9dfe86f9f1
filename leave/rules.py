"""The checks every leave window must pass, shared by requests and extensions.

Each failure is a 422 naming the field the caller should fix. Times are
compared in UTC; the term and the yearly cap use local dates (UTC+8), since
a term ending "2027-12-31" ends at local midnight.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, Invalid
from core.localtime import LOCAL_TZ, LOCAL_TZ_NAME
from leave.models import LeaveRequest, LeaveStatus
from leave.policy import EffectivePolicy
from supervision.models import Supervisee, SuperviseeStatus

LIVE = (LeaveStatus.pending.value, LeaveStatus.approved.value)


def effective_end():
    """SQL: when a leave stops occupying time (its return report, else its due time)."""
    return func.least(LeaveRequest.return_due_at, func.coalesce(LeaveRequest.returned_at, LeaveRequest.return_due_at))


def check_supervisee(sup: Supervisee) -> None:
    if sup.status != SuperviseeStatus.active:
        raise Conflict(f"the supervisee's status is {sup.status}: leave can be asked only while supervision is active")


def check_times(*, now: datetime, depart_at: datetime, return_at: datetime, tolerance: timedelta,
                policy: EffectivePolicy, check_departure: bool = True) -> None:
    """Order, not in the past, minimum notice."""
    if return_at <= depart_at:
        raise Invalid("return_at must be after depart_at", field="return_at")
    if check_departure and depart_at < now - tolerance:
        raise Invalid("depart_at is in the past: leave is approved before departure", field="depart_at")
    if check_departure and policy.min_notice_hours and depart_at < now + timedelta(hours=policy.min_notice_hours):
        raise Invalid(f"leave must be asked at least {policy.min_notice_hours} h before departure (local policy)",
                      field="depart_at")


def check_max(total_days: int, policy: EffectivePolicy, *, extension: bool = False) -> None:
    if total_days > policy.max_days:
        what = "with the extension, the leave would last" if extension else "the leave lasts"
        raise Invalid(f"{what} {total_days} days; one approval covers at most {policy.max_days} days",
                      field="return_at")


def check_term(sup: Supervisee, depart_at: datetime, return_at: datetime) -> None:
    if depart_at.astimezone(LOCAL_TZ).date() < sup.term_start:
        raise Invalid(f"depart_at is before the supervision term starts ({sup.term_start})", field="depart_at")
    if return_at.astimezone(LOCAL_TZ).date() > sup.term_end:
        raise Invalid(f"return_at is after the supervision term ends ({sup.term_end})", field="return_at")


def check_overlap(db: Session, supervisee_id: int, depart_at: datetime, return_at: datetime,
                  exclude: Iterable[int] = ()) -> None:
    """No two pending or approved leaves of one person share any time."""
    clash = db.scalar(select(LeaveRequest.id).where(
        LeaveRequest.supervisee_id == supervisee_id, LeaveRequest.status.in_(LIVE),
        LeaveRequest.id.not_in(list(exclude) or [0]),
        LeaveRequest.depart_at < return_at, effective_end() > depart_at).limit(1))
    if clash is not None:
        raise Invalid(f"overlaps leave request #{clash}, which is pending or approved", field="depart_at")


def check_yearly_cap(db: Session, supervisee_id: int, depart_at: datetime, days: int, policy: EffectivePolicy,
                     exclude: Iterable[int] = ()) -> None:
    """Local policy: total days of pending and approved leave per calendar year (of departure)."""
    if policy.yearly_cap_days is None:
        return
    year = depart_at.astimezone(LOCAL_TZ).year
    local_depart = func.timezone(LOCAL_TZ_NAME, LeaveRequest.depart_at)
    used = db.scalar(select(func.coalesce(func.sum(LeaveRequest.days), 0)).where(
        LeaveRequest.supervisee_id == supervisee_id, LeaveRequest.status.in_(LIVE),
        LeaveRequest.id.not_in(list(exclude) or [0]), extract("year", local_depart) == year)) or 0
    if used + days > policy.yearly_cap_days:
        raise Invalid(f"{used} of the {policy.yearly_cap_days} leave days allowed in {year} are already used or "
                      f"asked for; {days} more would exceed the yearly cap (local policy)", field="return_at")
