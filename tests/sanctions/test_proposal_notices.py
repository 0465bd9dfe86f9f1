"""The system proposes, an officer decides — and the officer hears of a proposal on the alert feed:
a job's sanction or tier proposal raises one low "notice" for the supervisee's officers, and deciding
the proposal resolves that notice as "decided" (an officer's own proposal raises none)."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from alerts.models import Alert, AlertEvent
from core.localtime import LOCAL_TZ
from risk.compute import run_risk
from risk.models import TierProposal
from risk.service import decide_proposal
from sanctions.escalation import run_escalation
from sanctions.models import Sanction
from sanctions.service import decide_sanction, propose_sanction
from tests.sanctions.helpers import as_user, lose_contact

T = datetime(2026, 5, 4, 0, tzinfo=LOCAL_TZ)


def _notices(db, sid: int) -> list[Alert]:
    return list(db.scalars(select(Alert).where(Alert.supervisee_id == sid, Alert.kind == "notice",
                                               Alert.cause.like("proposal:%")).order_by(Alert.id)))


def test_a_sanction_proposal_is_announced_once_and_its_decision_resolves_the_notice(db, world, settings, clock, job):
    a = world.supervisees["a"]
    lose_contact(db, settings, a, since=T, until=T + timedelta(days=5))
    for hours in (0, 1, 30):  # the job runs often: one proposal, one notice
        run_escalation(job(T + timedelta(days=6, hours=hours)))
    db.flush()
    [s] = db.scalars(select(Sanction).where(Sanction.supervisee_id == a.id))
    [n] = _notices(db, a.id)
    assert (n.cause, n.state, n.severity, n.office_id) == (f"proposal:sanction:{s.id}", "open", "low", a.office_id)
    assert "训诫" in n.title and n.detail == {"proposal": "sanction", "proposal_id": s.id, "summary": "训诫 · admonition"}
    assert db.scalar(select(AlertEvent).where(AlertEvent.alert_id == n.id, AlertEvent.type == "created")) is not None

    clock.set(T + timedelta(days=7))
    decide_sanction(ctx=as_user(db, world.users["officer_a"], settings, clock), sanction_id=s.id, impose=False,
                    reason="已说明情况 explained")
    db.flush()
    db.refresh(n)
    assert (n.state, n.resolution, n.resolution_note) == ("resolved", "decided", "proposal rejected")
    assert db.scalar(select(AlertEvent).where(AlertEvent.alert_id == n.id, AlertEvent.type == "resolved")) is not None


def test_an_officers_own_proposal_raises_no_notice(db, world, settings, clock):
    a = world.supervisees["a"]
    clock.set(T)
    propose_sanction(ctx=as_user(db, world.users["officer_a"], settings, clock), supervisee_id=a.id,
                     kind="praise", facts="积极参加公益活动", evidence={})
    db.flush()
    assert _notices(db, a.id) == []


def test_a_tier_proposal_is_announced_and_confirming_it_resolves_the_notice(db, world, settings, clock, job):
    a = world.supervisees["a"]
    # A day into the term: the intake rule (first two months) proposes 严管 (strict).
    clock.set(datetime.combine(a.term_start, time(6), LOCAL_TZ) + timedelta(days=1))
    run_risk(job(clock.now()))
    db.flush()
    [p] = db.scalars(select(TierProposal).where(TierProposal.supervisee_id == a.id))
    [n] = _notices(db, a.id)
    assert n.cause == f"proposal:tier:{p.id}" and f"{p.from_tier} → {p.to_tier}" in n.title
    decide_proposal(ctx=as_user(db, world.users["officer_a"], settings, clock), proposal_id=p.id, confirm=True,
                    reason="新入矫 intake")
    db.flush()
    db.refresh(n)
    assert (n.state, n.resolution, n.resolution_note) == ("resolved", "decided", "proposal confirmed")
