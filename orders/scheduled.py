"""Orders job, run by the job runner (core.jobs) with the injectable clock; the runner commits.

``check_orders``: for every approved order, the expiry reminders to the
responsible officer 7 days and 1 day before its end (an alert-feed
"notice" through alerts.intake, each once: ``reminded_*_at`` marks it, an
extension clears it), and at the end the lapse: status ``lapsed``, an audit
row and a notice. The lawful window itself closes at ``ends_at`` in ingest
(geo's positioning_windows), not when this job happens to run.
"""
from __future__ import annotations

from sqlalchemy import select

from alerts.facts import OrderNotice, Subject
from alerts.intake import apply_facts
from core.jobs import Job, JobContext
from orders.models import OrderStatus, PositioningOrder
from orders.rules import REMINDERS, due_reminders
from supervision.models import Supervisee

_MARK = {"7d": "reminded_7d_at", "1d": "reminded_1d_at"}
_LOOKAHEAD = max(before for _, before in REMINDERS)


def check_orders(job: JobContext) -> list[int]:
    """Send due reminders and lapse ended orders; returns the notice alert ids."""
    db, now = job.db, job.now
    rows = db.execute(
        select(PositioningOrder, Supervisee).join(Supervisee, Supervisee.id == PositioningOrder.supervisee_id)
        .where(PositioningOrder.status == OrderStatus.approved, PositioningOrder.ends_at - _LOOKAHEAD <= now)
        .order_by(PositioningOrder.id).with_for_update(of=PositioningOrder, skip_locked=True)
    ).all()
    notices = []
    for order, sup in rows:
        subject = Subject(sup.id, sup.office_id, sup.tier)
        if order.ends_at <= now:
            order.status = OrderStatus.lapsed
            job.record("order.lapse", "positioning_order", order.id,
                       detail={"supervisee_id": sup.id, "ends_at": order.ends_at})
            notices += _notice(job, subject, order, "lapsed", sup.officer_id)
            continue
        due = due_reminders(order.ends_at, now, {k: getattr(order, col) is not None for k, col in _MARK.items()})
        for name in due:
            setattr(order, _MARK[name], now)
        if due:
            # Only the most urgent of the reminders due at once is announced.
            notices += _notice(job, subject, order, due[-1], sup.officer_id)
            job.record("order.remind", "positioning_order", order.id,
                       detail={"supervisee_id": sup.id, "reminder": due[-1], "marked": due,
                               "ends_at": order.ends_at})
    db.flush()
    return notices


def _notice(job: JobContext, subject: Subject, order: PositioningOrder, event: str, officer_id: int | None) -> list[int]:
    fact = OrderNotice(order_id=order.id, event=event, ends_at=order.ends_at, officer_id=officer_id)
    [touched] = apply_facts(job.db, subject, [fact], now=job.now, cfg=job.settings.alerts)
    return touched


JOBS: tuple[Job, ...] = (
    Job("positioning_orders", check_orders, lambda s: s.orders.order_check_seconds),
)
