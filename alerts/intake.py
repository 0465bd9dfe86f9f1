"""The one entry point from producers to alerts: ``apply_facts``.

Producers hand over what they observed (alerts.facts); here it becomes
alerts: which kind, title and cause, and which transition (raise, add
evidence, clear, withdraw). Runs in the producer's transaction, so the
alerts commit with the facts that caused them (the outbox).

- an opened episode → one alert per supervisee + fence + kind; an episode
  that also closed in the batch clears it;
- a continuing episode's fresh fixes → evidence on its alert;
- a closed episode clears its alert once none of the alert's episodes is open;
- a withdrawn episode is announced and, if it was the alert's only episode,
  the untouched alert is resolved as withdrawn;
- flagged fixes → one "integrity" alert per supervisee, tamper a "device" alert;
- low battery → a "device" alert per device; lost contact and its end;
- a missed check-in → one "missed_checkin" alert per occurrence, one severity
  step higher from the second miss in a row; while the supervisee is also out
  of contact (an unresolved lost-contact alert) the miss is evidence on that
  alert and escalates it at once (Law art. 30), and the miss itself is high;
- a check-in far from the phone (人机分离) → one "integrity" alert per supervisee;
- an electronic-positioning order about to lapse, or lapsed → one "notice" per
  order and event (the orders job sends each once).
- a term ending in N days → one low "term_ending" notice per term end and N;
- the supervision ended → every unresolved alert resolved as ``term_ended``
  (monitoring stopped: nobody is left to act on them; the rows stay).
- hours of study or public service short at month end → one "obligation_shortfall" alert per month and kind.
- a job's sanction or tier proposal → one "notice" asking the officer to decide; deciding it resolves
  the notice as ``decided``.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.facts import (
    MAX_EVIDENCE, BatteryLow, CheckinMissed, ContactRestored, EpisodeClosed, EpisodeContinued, EpisodeOpened, EpisodeWithdrawn,
    Evidence, Fact, FixesFlagged, LeaveOverdue, LeaveReturned, ObligationShortfall, OrderNotice, PhoneApart, ProposalDecided, ProposalMade,
    SignalLost, Subject, TermEnded, TermEnding,
)
from alerts.escalation import escalate_alert
from alerts.models import Alert, AlertKind, AlertState, Resolution, Severity
from alerts.outbox import emit
from alerts.raising import add_evidence, at_least, clear_alert, default_severity, raise_alert, step_up, withdraw_episode
from core.localtime import LOCAL_TZ
from core.settings import AlertSettings

TITLES = {
    AlertKind.left_permitted_area: "离开许可活动区域 · left the permitted area",
    AlertKind.outside_leave_destination: "请假期间不在目的地 · outside the leave destination",
    AlertKind.entered_exclusion_zone: "进入禁止区域 · entered an exclusion zone",
    AlertKind.curfew_breach: "宵禁时段不在家 · away from home during curfew",
    AlertKind.integrity: "定位数据可疑 · suspicious location data",
    AlertKind.device: "设备异常 · device problem",
    AlertKind.signal_lost: "失去联系 · signal lost",
    AlertKind.missed_checkin: "未按时报到 · missed check-in",
    AlertKind.obligation_shortfall: "学习/公益时数不足 · study or public-service hours short",
}
SEPARATION_TITLE = "人机分离 · check-in far from the phone"
LOW_BATTERY_TITLE = "设备电量低 · low battery"
SIGNAL_LOST_CAUSE = "signal_lost"
BACK_IN_COMPLIANCE = "back in compliance"
OVERDUE_TITLE = "请假逾期未销假 · not back from leave (due {due})"


@dataclass
class _Call:
    """What one apply_facts call shares between its facts."""

    db: Session
    subject: Subject
    now: datetime
    cfg: AlertSettings
    # Episodes this call linked to each alert (all / still open): the stored
    # counts in EpisodeClosed / EpisodeWithdrawn cannot include them yet.
    linked: Counter[int] = field(default_factory=Counter)
    linked_open: Counter[int] = field(default_factory=Counter)

    def raise_(self, *, kind: AlertKind, cause: str, title: str, occurred_at: datetime, **kw) -> Alert:
        s = self.subject
        alert, _ = raise_alert(self.db, now=self.now, supervisee_id=s.supervisee_id, office_id=s.office_id,
                               tier=s.tier, kind=kind, cause=cause, title=title, occurred_at=occurred_at,
                               flap_limit=self.cfg.flap_limit_per_hour, **kw)
        return alert


def apply_facts(db: Session, subject: Subject, facts: Sequence[Fact], *, now: datetime,
                cfg: AlertSettings) -> list[list[int]]:
    """Turn ``facts`` about ``subject`` into alert changes, in order; per fact, the alerts it touched."""
    call = _Call(db, subject, now, cfg)
    return [_HANDLERS[type(fact)](call, fact) for fact in facts]


def episode_kind(fence_kind: str, *, on_leave: bool) -> AlertKind:
    """The alert kind of a violation of a fence of ``fence_kind``."""
    if fence_kind == "exclusion":
        return AlertKind.entered_exclusion_zone
    if fence_kind == "curfew":
        return AlertKind.curfew_breach
    return AlertKind.outside_leave_destination if on_leave else AlertKind.left_permitted_area


def _opened(call: _Call, fact: EpisodeOpened) -> list[int]:
    kind = episode_kind(fact.fence_kind, on_leave=fact.on_leave)
    alert = call.raise_(kind=kind, cause=f"fence:{fact.fence_id}:{kind}", title=TITLES[kind],
                        occurred_at=fact.opened_at, evidence=fact.evidence,
                        detail={"episode_opened_at": fact.opened_at.isoformat(), "fence_kind": fact.fence_kind},
                        fence_id=fact.fence_id, fence_version=fact.fence_version)
    call.linked[alert.id] += 1
    if fact.closed_at is None:
        call.linked_open[alert.id] += 1
    else:
        clear_alert(call.db, alert, now=call.now, cleared_at=fact.closed_at, reason=BACK_IN_COMPLIANCE)
    return [alert.id]


def _continued(call: _Call, fact: EpisodeContinued) -> list[int]:
    alert = call.db.get(Alert, fact.alert_id)
    if alert is None or alert.state == "resolved":
        return []
    add_evidence(call.db, alert, fact.evidence, now=call.now)
    return [alert.id]


def _closed(call: _Call, fact: EpisodeClosed) -> list[int]:
    alert = call.db.get(Alert, fact.alert_id)
    if alert is None or fact.open_episodes + call.linked_open[alert.id] > 0:
        return []
    clear_alert(call.db, alert, now=call.now, cleared_at=fact.closed_at, reason=BACK_IN_COMPLIANCE)
    return [alert.id]


def _withdrawn(call: _Call, fact: EpisodeWithdrawn) -> list[int]:
    alert = call.db.get(Alert, fact.alert_id)
    if alert is None:
        return []
    last = fact.episodes + call.linked[alert.id] == 0
    withdraw_episode(call.db, alert, now=call.now, opened_at=fact.opened_at, last=last)
    return [alert.id]


def _flagged(call: _Call, fact: FixesFlagged) -> list[int]:
    # Tamper is about the device; every other flag about the data itself.
    integrity = [f for f in fact.fixes if f.flags - {"tamper"}]
    tamper = [f for f in fact.fixes if "tamper" in f.flags]
    touched = []
    for kind, cause, items in ((AlertKind.integrity, "integrity", integrity),
                               (AlertKind.device, f"device:{fact.device_id}:tamper", tamper)):
        if not items:
            continue
        evidence = [Evidence(fix_id=f.fix_id, t=f.t, lon=f.lon, lat=f.lat, accuracy_m=f.accuracy_m, datum=f.datum,
                             raw=f.raw, detail={"flags": sorted(f.flags)})
                    for f in sorted(items, key=lambda f: f.t)[:MAX_EVIDENCE]]
        alert = call.raise_(kind=kind, cause=cause, title=TITLES[kind], occurred_at=min(f.t for f in items),
                            evidence=evidence, detail={"flags": sorted({fl for f in items for fl in f.flags})})
        touched.append(alert.id)
    return touched


def _battery(call: _Call, fact: BatteryLow) -> list[int]:
    alert = call.raise_(kind=AlertKind.device, cause=f"device:{fact.device_id}:battery", title=LOW_BATTERY_TITLE,
                        occurred_at=fact.t, detail={"battery_pct": fact.battery_pct},
                        evidence=[Evidence(fix_id=fact.fix_id, t=fact.t, detail={"battery_pct": fact.battery_pct})])
    return [alert.id]


def _signal_lost(call: _Call, fact: SignalLost) -> list[int]:
    # High whatever the tier: lost contact means a search starts at once (Law art. 30).
    alert = call.raise_(kind=AlertKind.signal_lost, cause=SIGNAL_LOST_CAUSE, title=TITLES[AlertKind.signal_lost],
                        occurred_at=fact.last_fix_at or call.now, severity="high",
                        detail={"last_fix_at": fact.last_fix_at.isoformat() if fact.last_fix_at else None,
                                "limit_minutes": fact.limit_minutes, "tier": fact.tier})
    return [alert.id]


def _contact_restored(call: _Call, fact: ContactRestored) -> list[int]:
    lost = call.db.scalar(select(Alert).where(
        Alert.supervisee_id == call.subject.supervisee_id, Alert.cause == SIGNAL_LOST_CAUSE,
        Alert.state != "resolved", Alert.cleared_at.is_(None)))
    if lost is None:
        return []
    clear_alert(call.db, lost, now=call.now, cleared_at=fact.t, reason="contact restored")
    return [lost.id]


def leave_overdue_cause(leave_id: int) -> str:
    """The cause of a leave's overdue-return alert: one per leave."""
    return f"leave:{leave_id}:overdue"


def _leave_overdue(call: _Call, fact: LeaveOverdue) -> list[int]:
    due = fact.return_due_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    alert = call.raise_(kind=AlertKind.overdue_return, cause=leave_overdue_cause(fact.leave_id),
                        title=OVERDUE_TITLE.format(due=due),
                        occurred_at=fact.return_due_at + timedelta(hours=fact.grace_hours),
                        detail={"leave_id": fact.leave_id, "return_due_at": fact.return_due_at.isoformat(),
                                "grace_hours": fact.grace_hours, "address": fact.address})
    return [alert.id]


def _leave_returned(call: _Call, fact: LeaveReturned) -> list[int]:
    alert = call.db.get(Alert, fact.alert_id)
    if alert is None:
        return []
    clear_alert(call.db, alert, now=call.now, cleared_at=fact.t, reason="returned from leave")
    return [alert.id]


def missed_checkin_cause(occurrence_id: int) -> str:
    """One missed-check-in alert per occurrence (the occurrence's state makes it once)."""
    return f"checkin:{occurrence_id}:missed"


def _lost_contact(call: _Call) -> Alert | None:
    return call.db.scalar(select(Alert).where(
        Alert.supervisee_id == call.subject.supervisee_id, Alert.cause == SIGNAL_LOST_CAUSE,
        Alert.state != "resolved", Alert.cleared_at.is_(None)).with_for_update())


def _checkin_missed(call: _Call, fact: CheckinMissed) -> list[int]:
    severity = default_severity(AlertKind.missed_checkin, call.subject.tier)
    if fact.consecutive >= 2:
        severity = step_up(severity)
    lost = _lost_contact(call)
    if lost is not None:
        severity = at_least(severity, Severity.high)
    detail = {"occurrence_id": fact.occurrence_id, "checkin_kind": fact.kind, "consecutive": fact.consecutive,
              "window": [fact.opens_at.isoformat(), fact.closes_at.isoformat()],
              "lost_contact_alert_id": lost.id if lost is not None else None}
    evidence = Evidence(t=fact.closes_at, detail={"occurrence_id": fact.occurrence_id, "missed": True})
    alert = call.raise_(kind=AlertKind.missed_checkin, cause=missed_checkin_cause(fact.occurrence_id),
                        title=TITLES[AlertKind.missed_checkin], occurred_at=fact.closes_at, severity=severity,
                        detail=detail, evidence=[evidence])
    touched = [alert.id]
    if lost is not None:
        # Out of contact and not answering a check-in: the search (Law art. 30) must hear of it now.
        add_evidence(call.db, lost, [evidence], now=call.now)
        escalate_alert(call.db, lost, now=call.now, reason="missed_checkin")
        touched.append(lost.id)
    return touched


def _phone_apart(call: _Call, fact: PhoneApart) -> list[int]:
    alert = call.raise_(kind=AlertKind.integrity, cause="checkin:separation", title=SEPARATION_TITLE,
                        occurred_at=fact.checkin.t or call.now, evidence=[fact.checkin, fact.phone],
                        detail={"submission_id": fact.submission_id, "distance_m": round(fact.distance_m, 1),
                                "flags": ["phone_apart"]})
    return [alert.id]


ORDER_NOTICE_TITLES = {
    "7d": "电子定位决定 7 日后到期 · positioning order ends in 7 days ({ends})",
    "1d": "电子定位决定 1 日后到期 · positioning order ends in 1 day ({ends})",
    "lapsed": "电子定位决定已到期，定位已停止 · positioning order lapsed, positioning stopped ({ends})",
}


def order_notice_cause(order_id: int, event: str, ends_at: datetime) -> str:
    """One notice per order, event and end: an extended order's new end is announced afresh."""
    return f"order:{order_id}:{event}:{int(ends_at.timestamp())}"


def _order_notice(call: _Call, fact: OrderNotice) -> list[int]:
    ends = fact.ends_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    alert = call.raise_(kind=AlertKind.notice, cause=order_notice_cause(fact.order_id, fact.event, fact.ends_at),
                        title=ORDER_NOTICE_TITLES[fact.event].format(ends=ends), occurred_at=call.now,
                        detail={"order_id": fact.order_id, "event": fact.event, "ends_at": fact.ends_at.isoformat(),
                                "officer_id": fact.officer_id})
    return [alert.id]


def _term_ending(call: _Call, fact: TermEnding) -> list[int]:
    left = f"{fact.days_left} day" + ("" if fact.days_left == 1 else "s")
    alert = call.raise_(kind=AlertKind.term_ending, cause=f"term:{fact.term_end}:{fact.days_before}d",
                        title=f"矫正期将满 · term ends {fact.term_end} (in {left})",
                        occurred_at=call.now, detail={"term_end": fact.term_end, "days_before": fact.days_before,
                                                      "days_left": fact.days_left})
    return [alert.id]


def proposal_cause(what: str, proposal_id: int) -> str:
    return f"proposal:{what}:{proposal_id}"


def _proposal_made(call: _Call, fact: ProposalMade) -> list[int]:
    what = "处分/奖励建议 · sanction proposal" if fact.what == "sanction" else "管理等级调整建议 · tier proposal"
    alert = call.raise_(kind=AlertKind.notice, cause=proposal_cause(fact.what, fact.proposal_id),
                        title=f"待决定的{what}: {fact.summary}", occurred_at=call.now,
                        detail={"proposal": fact.what, "proposal_id": fact.proposal_id, "summary": fact.summary})
    return [alert.id]


def _proposal_decided(call: _Call, fact: ProposalDecided) -> list[int]:
    alert = call.db.scalar(select(Alert).where(
        Alert.supervisee_id == call.subject.supervisee_id, Alert.cause == proposal_cause(fact.what, fact.proposal_id),
        Alert.state != AlertState.resolved).with_for_update())
    if alert is None:  # a proposal an officer made (no notice), or the notice was resolved by hand
        return []
    alert.state, alert.resolution, alert.resolved_at = AlertState.resolved, Resolution.decided, call.now
    alert.resolution_note = f"proposal {fact.decision}"
    emit(call.db, alert, "resolved", call.now, {"reason": Resolution.decided, "decision": fact.decision})
    return [alert.id]


def _term_ended(call: _Call, fact: TermEnded) -> list[int]:
    alerts = call.db.scalars(select(Alert).where(
        Alert.supervisee_id == call.subject.supervisee_id, Alert.state != AlertState.resolved)
        .order_by(Alert.id).with_for_update())
    closed = []
    for alert in alerts:
        alert.state, alert.resolution, alert.resolved_at = AlertState.resolved, Resolution.term_ended, call.now
        alert.resolution_note = "supervision ended: monitoring stopped"
        emit(call.db, alert, "resolved", call.now, {"reason": Resolution.term_ended})
        closed.append(alert.id)
    call.db.flush()
    return closed


def _obligation_short(call: _Call, fact: ObligationShortfall) -> list[int]:
    alert = call.raise_(kind=AlertKind.obligation_shortfall, cause=f"obligation:{fact.month}:{fact.kind}",
                        title=TITLES[AlertKind.obligation_shortfall], occurred_at=fact.month_end,
                        detail={"month": fact.month, "obligation": fact.kind, "required_hours": fact.required_hours,
                                "entered_hours": fact.entered_hours})
    return [alert.id]


_HANDLERS = {
    EpisodeOpened: _opened, EpisodeContinued: _continued, EpisodeClosed: _closed, EpisodeWithdrawn: _withdrawn,
    FixesFlagged: _flagged, BatteryLow: _battery, SignalLost: _signal_lost, ContactRestored: _contact_restored,
    LeaveOverdue: _leave_overdue, LeaveReturned: _leave_returned, CheckinMissed: _checkin_missed,
    PhoneApart: _phone_apart, OrderNotice: _order_notice, TermEnding: _term_ending, TermEnded: _term_ended, ObligationShortfall: _obligation_short,
    ProposalMade: _proposal_made, ProposalDecided: _proposal_decided,
}
