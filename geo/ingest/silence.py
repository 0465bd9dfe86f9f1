"""Device silence: no fix for longer than the tier's limit raises "signal lost".

Lost contact (Law art. 30) means the office must start a search at once, so
the alert is raised at high severity and escalates immediately (see
alerts.escalation). This module only finds the silent supervisees and hands
a ``SignalLost`` fact to alerts. Run every minute by the scheduler, with the
injectable clock; the caller commits.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from alerts.facts import SignalLost, Subject
from alerts.intake import apply_facts
from core.settings import IngestSettings, Settings
from geo.ingest.models import SuperviseeSignal
from supervision.models import Device, Supervisee


def silence_limits(cfg: IngestSettings) -> dict[str, timedelta]:
    return {"strict": timedelta(minutes=cfg.silence_strict_minutes),
            "ordinary": timedelta(minutes=cfg.silence_ordinary_minutes),
            "lenient": timedelta(minutes=cfg.silence_lenient_minutes)}


def check_silence(db: Session, *, now: datetime, settings: Settings) -> list[int]:
    """Raise "signal lost" for every silent supervisee with a device; returns alert ids."""
    cfg, alert_cfg = settings.ingest, settings.alerts
    raised = []
    for tier, limit in silence_limits(cfg).items():
        cutoff = now - limit
        rows = db.execute(
            select(Supervisee, SuperviseeSignal)
            .join(SuperviseeSignal, SuperviseeSignal.supervisee_id == Supervisee.id, isouter=True)
            .where(Supervisee.status == "active", Supervisee.tier == tier,
                   Supervisee.id.in_(select(Device.supervisee_id).where(Device.active.is_(True))),
                   or_(SuperviseeSignal.supervisee_id.is_(None),
                       and_(SuperviseeSignal.silence_alerted.is_(False),
                            or_(SuperviseeSignal.last_fix_t.is_(None), SuperviseeSignal.last_fix_t < cutoff))))
        ).all()
        for sup, signal in rows:
            if signal is None:
                # Never heard from: start counting from now rather than alerting at once.
                db.add(SuperviseeSignal(supervisee_id=sup.id, last_received_at=None, silence_alerted=False,
                                        last_fix_t=now, fixes_total=0, version=0))
                continue
            fact = SignalLost(last_fix_at=signal.last_fix_t, limit_minutes=int(limit.total_seconds() // 60), tier=tier)
            [[alert_id]] = apply_facts(db, Subject(sup.id, sup.office_id, sup.tier), [fact], now=now, cfg=alert_cfg)
            signal.silence_alerted = True
            raised.append(alert_id)
    db.flush()
    return raised
