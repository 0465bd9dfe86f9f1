"""Acting as a user (service calls in the test's transaction) and running the daily jobs on the manual clock."""
from __future__ import annotations

from datetime import datetime

from alerts.facts import ContactRestored, SignalLost, Subject
from alerts.intake import apply_facts
from core.audit import AuditLog
from core.context import Ctx
from core.principal import Principal, RequestContext
from supervision.models import User


def as_user(db, user: User, settings, clock) -> Ctx:
    principal = Principal(user.id, user.username, user.role, user.jurisdiction_id, user.jurisdiction.path,
                          supervisee_id=user.supervisee_id)
    return Ctx(db=db, request=RequestContext(principal, request_id="r-test"),
               audit=AuditLog(settings.audit.audit_key.encode(), clock), settings=settings, clock=clock)


def lose_contact(db, settings, sup, *, since: datetime, until: datetime | None) -> int:
    """A lost-contact alert raised at ``since`` (and cleared at ``until``), as the silence job and ingest do."""
    subject = Subject(sup.id, sup.office_id, sup.tier)
    [[alert_id]] = apply_facts(db, subject, [SignalLost(last_fix_at=since, limit_minutes=60, tier=sup.tier)],
                               now=since, cfg=settings.alerts)
    db.flush()  # two transactions in real use (the session does not autoflush)
    if until is not None:
        apply_facts(db, subject, [ContactRestored(t=until)], now=until, cfg=settings.alerts)
    db.flush()
    return alert_id
