"""Demo obligation hours: last month's study and public-service hours for the demo supervisees,
entered through the service as their officers would, most meeting their tier's requirement and
about one in eight short — so the month-end job gives the desk a few shortfall alerts and the
assessments a spread, rather than every person failing an obligation nobody recorded.

Seeded once: a district that already has obligation entries is left as it is.
"""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.clock import Clock
from core.localtime import LOCAL_TZ
from core.settings import Settings
from sanctions.assessment import required_hours
from sanctions.models import ObligationEntry, ObligationKind
from sanctions.obligations import enter_hours
from supervision.demo import acting_as
from supervision.models import Role, Supervisee, User

NOTES = {ObligationKind.study: "法治教育集中学习", ObligationKind.service: "社区公益劳动"}


def seed_demo_obligations(db: Session, *, settings: Settings, clock: Clock, audit: AuditLog) -> int:
    """Entries for last month; returns how many were made. Caller commits."""
    if db.scalar(select(func.count()).select_from(ObligationEntry)):
        return 0
    this_month = clock.now().astimezone(LOCAL_TZ).date().replace(day=1)
    first = (this_month - timedelta(days=1)).replace(day=1)
    officers = {u.jurisdiction_id: u for u in db.scalars(
        select(User).where(User.role == Role.officer, User.username.like("demo-officer%")).order_by(User.id))}
    rng = random.Random(330803)
    made = 0
    for sup in db.scalars(select(Supervisee).where(Supervisee.status == "active", Supervisee.term_start < this_month)
                          .order_by(Supervisee.id)):
        officer = officers.get(sup.office_id)
        if officer is None:
            continue
        ctx = acting_as(db, officer, settings=settings, clock=clock, audit=audit)
        short = rng.random() < 0.125
        for kind in ObligationKind:
            need = required_hours(settings.sanctions, sup.tier, kind)
            hours = need / 2 if short and kind == ObligationKind.service else need + rng.choice((0, 0, 2, 4))
            if hours <= 0:
                continue
            enter_hours(ctx=ctx, supervisee_id=sup.id, month=first.isoformat()[:7], kind=kind, hours=hours,
                        note=NOTES[kind])
            made += 1
    return made
