"""Notices for the administrators of a jurisdiction: what needs their hands (cameras of an office
gone offline) reaches every active admin whose jurisdiction holds it — the office's own and those
above — as an account notice: shown in the login answer and in /auth/me, and on the console's
admin page.

Admins get no alert socket on purpose (alerts are about people and places; an admin does not
reach location data), so their notices travel this way.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from supervision.jurisdictions import ancestor_chain
from supervision.models import AccountNotice, Role, User


def admins_over(db: Session, jurisdiction_id: int) -> list[int]:
    """Active admins of the jurisdiction and of every jurisdiction above it."""
    above = ancestor_chain(db, jurisdiction_id)
    return list(db.scalars(select(User.id).where(User.role == Role.admin, User.active.is_(True),
                                                 User.jurisdiction_id.in_(above)).order_by(User.id)))


def notify_admins(db: Session, jurisdiction_id: int, *, kind: str, message: str, now: datetime) -> list[int]:
    """One notice per admin over the jurisdiction; their user ids. The caller audits the event once."""
    admins = admins_over(db, jurisdiction_id)
    db.add_all([AccountNotice(user_id=uid, kind=kind, message=message, created_at=now) for uid in admins])
    db.flush()
    return admins
