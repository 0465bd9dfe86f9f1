"""Demo leave requests in every state, made through the leave service as the demo
people would (so fences, authority and the audit trail are as in real use).

Seeded once: a district that already has leave requests is left as it is. Departures
are in the future (the service refuses past ones), so nobody is on leave yet; a
report-back (销假) happens when one of them is under way.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.clock import Clock
from core.context import Ctx
from core.principal import Principal, RequestContext
from core.settings import Settings
from leave import approval, service
from leave.models import LeaveRequest
from leave.schemas import DestinationIn, LeaveIn, WithdrawIn
from supervision.models import Jurisdiction, Role, User

# (destination, lon, lat, days, reason, what happens to it)
REQUESTS = [
    ("杭州市西湖区", 120.130, 30.259, 2, "探望住院的母亲", "pending"),
    ("金华市婺城区", 119.652, 29.085, 3, "参加亲属婚礼", "approved"),
    ("上海市浦东新区", 121.544, 31.221, 4, "外出务工面试", "rejected"),
    ("宁波市鄞州区", 121.547, 29.817, 2, "处理房屋过户", "withdrawn"),
    ("温州市鹿城区", 120.672, 28.000, 10, "陪同子女就医（长期治疗）", "pending"),  # > 7 days: the bureau decides
]


def _ctx(db: Session, user: User, *, settings: Settings, clock: Clock, audit: AuditLog) -> Ctx:
    path = db.scalar(select(Jurisdiction.path).where(Jurisdiction.id == user.jurisdiction_id))
    principal = Principal(user.id, user.username, user.role, user.jurisdiction_id, path, user.supervisee_id,
                          user.token_version)
    return Ctx(db=db, request=RequestContext(principal, source_addr="demo-seed"), audit=audit, settings=settings,
               clock=clock)


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
        ctx = _ctx(db, person, settings=settings, clock=clock, audit=audit)
        depart = start + timedelta(days=3 * i)
        leave = service.create_leave(ctx=ctx, data=LeaveIn(
            destination=DestinationIn(address=address, circle={"lon": lon, "lat": lat, "radius_m": 10_000}),
            reason=reason, depart_at=depart, return_at=depart + timedelta(days=days)))
        officer = _ctx(db, officers[person.jurisdiction_id], settings=settings, clock=clock, audit=audit)
        if outcome == "approved":
            approval.approve_leave(ctx=officer, leave_id=leave.id, reason="理由充分，准予外出，按时销假")
        elif outcome == "rejected":
            approval.reject_leave(ctx=officer, leave_id=leave.id, reason="材料不全，请补充面试通知后再申请")
        elif outcome == "withdrawn":
            service.withdraw_leave(ctx=ctx, leave_id=leave.id, data=WithdrawIn(reason="事情已办妥"))
    db.flush()
    return len(REQUESTS)
