"""What alerts keep and delete at a supervisee's purge.

An alert is part of the legal file (sanctions and assessments rest on it:
kind, title, times, who acknowledged and resolved it and why, the officers'
notes), but its evidence (fixes' positions, raw payloads) and its detail (which
can hold distances, a leave's address, last-fix times) are operational: the
evidence rows are deleted and ``detail`` is cleared. Flap counters and the
person's websocket tickets go too.
"""
from __future__ import annotations

from sqlalchemy import delete, select, update

from alerts.models import Alert, AlertEvidence, AlertFlap
from alerts.tickets import WsTicket
from core.context import Ctx
from core.retention import Retention
from supervision.models import User


def purge_alerts(ctx: Ctx, supervisee_id: int) -> dict[str, int]:
    """Delete the person's alert evidence, flap counters and tickets; clear alerts' detail."""
    db = ctx.db
    alerts = select(Alert.id).where(Alert.supervisee_id == supervisee_id)
    return {
        "alert_evidence": db.execute(delete(AlertEvidence).where(AlertEvidence.alert_id.in_(alerts))).rowcount,
        "alerts.detail": db.execute(update(Alert).where(Alert.supervisee_id == supervisee_id)
                                    .values(detail={})).rowcount,
        "alert_flaps": db.execute(delete(AlertFlap).where(AlertFlap.supervisee_id == supervisee_id)).rowcount,
        "ws_tickets": db.execute(delete(WsTicket).where(
            WsTicket.user_id.in_(select(User.id).where(User.supervisee_id == supervisee_id)))).rowcount,
    }


RETENTION = Retention(
    package="alerts",
    legal_file=("alert_notes",),
    operational=("alert_evidence", "alert_flaps", "ws_tickets"),
    scrubbed={"alerts": ("detail",)},
    purge=purge_alerts,
)
