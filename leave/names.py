"""The names on a leave as they were at the time: supervisee, office and requester
when it is asked, the approver when it is decided. Names are editable (a
rename, a correction, a transfer of office), and the leave report must show who
did what under the names of that day, not today's."""
from __future__ import annotations

from sqlalchemy.orm import Session

from leave.models import LeaveRequest
from supervision.models import Jurisdiction, Supervisee, User


def _full_name(db: Session, user_id: int | None) -> str | None:
    user = db.get(User, user_id) if user_id is not None else None
    return user.full_name if user else None


def stamp_request(db: Session, leave: LeaveRequest, supervisee: Supervisee) -> None:
    office = db.get(Jurisdiction, leave.office_id)
    leave.supervisee_name = supervisee.name
    leave.office_name = office.name if office else None
    leave.requester_name = _full_name(db, leave.requested_by)


def stamp_decision(db: Session, leave: LeaveRequest) -> None:
    leave.approver_name = _full_name(db, leave.decided_by)
