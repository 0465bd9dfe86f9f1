"""Demo leave requests in every state, made through the leave service as the demo
people would (so fences, authority and the audit trail are as in real use).

Seeded once: a district that already has leave requests is left as it is. Besides the
future ones (pending, approved, rejected, withdrawn), some are *in time*: one under way
now, one overdue (its return time passed, not reported back: the overdue job raises its
alert on the server's first round) and one completed in the past. The service refuses
past departures, so those are made on a clock set back to when they would have been
asked, decided and reported (the audit rows keep their real time).
"""
from __future__ import annotations

from datetime import timedelta

from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.clock import Clock, ManualClock
from core.settings import Settings
from leave import approval, service
from leave.models import LeaveRequest
from leave.schemas import DestinationIn, LeaveIn, ReturnIn, WithdrawIn
from supervision.demo import acting_as
from supervision.models import Role, Supervisee, User

# (destination, lon, lat, days, reason, what happens to it)
REQUESTS = [
    ("杭州市西湖区", 120.130, 30.259, 2, "探望住院的母亲", "pending"),
    ("金华市婺城区", 119.652, 29.085, 3, "参加亲属婚礼", "approved"),
    ("上海市浦东新区", 121.544, 31.221, 4, "外出务工面试", "rejected"),
    ("宁波市鄞州区", 121.547, 29.817, 2, "处理房屋过户", "withdrawn"),
    ("温州市鹿城区", 120.672, 28.000, 10, "陪同子女就医（长期治疗）", "pending"),  # > 7 days: the bureau decides
]
# (destination, lon, lat, asked, departs, returns (hours from now), reason, reported back?)
IN_TIME = [
    ("丽水市莲都区", 119.923, 28.468, -72, -24, 48, "照料病重的父亲", False),  # under way now
    ("台州市椒江区", 121.442, 28.673, -120, -96, -26, "参加技能培训", False),  # overdue: not reported back
    ("绍兴市越城区", 120.582, 30.003, -400, -360, -312, "办理社保转移", True),  # completed, reported on time
]


def seed_demo_leave(db: Session, *, settings: Settings, clock: Clock, audit: AuditLog) -> int:
    """Leave requests in every state for the demo supervisees; returns how many were made. Caller commits."""
    if db.scalar(select(func.count()).select_from(LeaveRequest)):
        return 0
    officers = {u.jurisdiction_id: u for u in db.scalars(
        select(User).where(User.role == Role.officer, User.username.like("demo-officer%")).order_by(User.id))}
    people = db.scalars(select(User).where(User.role == Role.supervisee, User.username.like("demo-supervisee%"))
                        .order_by(User.id)).all()
    if not people:
        return 0
    start = clock.now().replace(second=0, microsecond=0) + timedelta(days=1)
    for i, (address, lon, lat, days, reason, outcome) in enumerate(REQUESTS):
        person = people[i % len(people)]
        ctx = acting_as(db, person, settings=settings, clock=clock, audit=audit)
        depart = start + timedelta(days=3 * i)
        leave = service.create_leave(ctx=ctx, data=LeaveIn(
            destination=DestinationIn(address=address, circle={"lon": lon, "lat": lat, "radius_m": 10_000}),
            reason=reason, depart_at=depart, return_at=depart + timedelta(days=days)))
        officer = acting_as(db, officers[person.jurisdiction_id], settings=settings, clock=clock, audit=audit)
        if outcome == "approved":
            approval.approve_leave(ctx=officer, leave_id=leave.id, reason="理由充分，准予外出，按时销假")
        elif outcome == "rejected":
            approval.reject_leave(ctx=officer, leave_id=leave.id, reason="材料不全，请补充面试通知后再申请")
        elif outcome == "withdrawn":
            service.withdraw_leave(ctx=ctx, leave_id=leave.id, data=WithdrawIn(reason="事情已办妥"))
    now = clock.now().replace(second=0, microsecond=0)
    for j, (address, lon, lat, asked, departs, returns, reason, back) in enumerate(IN_TIME):
        person = people[(len(REQUESTS) + j) % len(people)]
        at = ManualClock(now + timedelta(hours=asked))
        ctx = acting_as(db, person, settings=settings, clock=at, audit=audit)
        leave = service.create_leave(ctx=ctx, data=LeaveIn(
            destination=DestinationIn(address=address, circle={"lon": lon, "lat": lat, "radius_m": 10_000}),
            reason=reason, depart_at=now + timedelta(hours=departs), return_at=now + timedelta(hours=returns)))
        officer = acting_as(db, officers[person.jurisdiction_id], settings=settings, clock=at, audit=audit)
        approval.approve_leave(ctx=officer, leave_id=leave.id, reason="理由充分，准予外出，按时销假")
        if back:  # 销假 an hour before the return time, from home
            at.set(now + timedelta(hours=returns - 1))
            home = to_shape(db.get(Supervisee, person.supervisee_id).residence)
            service.report_return(ctx=ctx, leave_id=leave.id, data=ReturnIn(lon=home.x, lat=home.y, accuracy_m=15))
    db.flush()
    return len(REQUESTS) + len(IN_TIME)
