"""Half a year on the manual clock: the daily jobs propose sanctions and tier moves by the configured
rules, and nothing changes (no sanction, no tier) without an officer's decision with a reason."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from alerts.models import Alert
from checkins.models import CheckinPlan
from core.errors import Forbidden
from core.localtime import LOCAL_TZ
from risk.compute import run_risk
from risk.models import TierProposal
from risk.service import decide_proposal
from sanctions.escalation import run_escalation
from sanctions.models import MonthlyAssessment, Sanction
from sanctions.monthly import confirm_assessment, run_month_end
from sanctions.obligations import enter_hours
from sanctions.service import decide_sanction
from tests.checkins.helpers import tick
from tests.sanctions.helpers import as_user, lose_contact

DAY = timedelta(days=1)


def local(y, m, d, h=6):
    return datetime(y, m, d, h, tzinfo=LOCAL_TZ)


def sanctions_of(db, sid):
    return list(db.scalars(select(Sanction).where(Sanction.supervisee_id == sid).order_by(Sanction.id)))


def proposals_of(db, sid):
    return list(db.scalars(select(TierProposal).where(TierProposal.supervisee_id == sid).order_by(TierProposal.id)))


def test_half_year_of_proposals_and_decisions(db, world, settings, clock, job):
    a, a2, b = (world.supervisees[k] for k in ("a", "a2", "b"))
    officer, manager = world.users["officer_a"], world.users["manager"]

    def act(user, at):
        clock.set(at)
        return as_user(db, user, settings, clock)

    silences = {}  # name -> alert id
    day, end = local(2026, 1, 2), local(2026, 7, 3)
    while day <= end:
        d = day.date()
        for run in (run_escalation, run_month_end, run_risk):
            run(job(day))
        db.flush()
        noon = day.replace(hour=10)
        # -- a: intake into strict, then two 训诫, a 警告 from each rule, a revocation proposal left pending
        if d == date(2026, 1, 2):
            [p] = proposals_of(db, a.id)
            assert (p.from_tier, p.to_tier, p.status, a.tier) == ("ordinary", "strict", "proposed", "ordinary")
            assert [r["rule"] for r in p.reasons] == ["intake"]
            decide_proposal(ctx=act(officer, noon), proposal_id=p.id, confirm=True, reason="新入矫 intake")
            assert a.tier == "strict"
        if d == date(2026, 1, 15):
            silences["jan"] = lose_contact(db, settings, a, since=local(2026, 1, 10, 0), until=local(2026, 1, 15, 0))
        if d == date(2026, 1, 16):
            [s] = sanctions_of(db, a.id)
            assert (s.kind, s.status, s.rule_key, s.proposed_by) == (
                "admonition", "proposed", f"contact:{silences['jan']}:{local(2026, 1, 10, 0).isoformat()}", None)
            assert s.evidence == {"alerts": [silences["jan"]]}
            decide_sanction(ctx=act(officer, noon), sanction_id=s.id, impose=True, reason="失联5日 训诫")
        if d == date(2026, 2, 3):
            silences["feb"] = lose_contact(db, settings, a, since=local(2026, 2, 3, 0), until=None)
        if d == date(2026, 2, 13):  # 10 days and 6 hours silent: a 警告 proposal while it lasts
            warn = sanctions_of(db, a.id)[-1]
            assert (warn.kind, warn.status, warn.rule_key) == (
                "warning", "proposed", f"contact:{silences['feb']}:{local(2026, 2, 3, 0).isoformat()}")
            with pytest.raises(Forbidden):  # 警告 needs the bureau by default
                decide_sanction(ctx=act(officer, noon), sanction_id=warn.id, impose=True, reason="x")
            decide_sanction(ctx=act(manager, noon), sanction_id=warn.id, impose=True, reason="失联超过10日 警告")
        if d == date(2026, 2, 20):
            from alerts.facts import ContactRestored, Subject
            from alerts.intake import apply_facts
            apply_facts(db, Subject(a.id, a.office_id, a.tier), [ContactRestored(t=day)], now=day, cfg=settings.alerts)
        if d == date(2026, 3, 8):
            silences["mar"] = lose_contact(db, settings, a, since=local(2026, 3, 5, 0), until=local(2026, 3, 8, 0))
        if d == date(2026, 3, 9):
            adm = sanctions_of(db, a.id)[-1]
            assert (adm.kind, adm.status) == ("admonition", "proposed")
            decide_sanction(ctx=act(officer, noon), sanction_id=adm.id, impose=True, reason="失联3日 训诫")
        if d == date(2026, 3, 10):  # the day after the second 训诫: a 警告 proposal from the counting rule
            warn2 = sanctions_of(db, a.id)[-1]
            first, second = (s.id for s in sanctions_of(db, a.id) if s.kind == "admonition")
            assert (warn2.kind, warn2.rule_key) == ("warning", f"admonitions:{first},{second}")
            decide_sanction(ctx=act(manager, noon), sanction_id=warn2.id, impose=True, reason="两次训诫 警告")
        if d == date(2026, 3, 11):
            rev = sanctions_of(db, a.id)[-1]
            assert (rev.kind, rev.status) == ("revocation_proposal", "proposed")
            assert rev.evidence["sanctions"] == [s.id for s in sanctions_of(db, a.id) if s.kind == "warning"]
        # -- a2: intake proposal rejected (never proposed again); hours entered and months confirmed
        if d == date(2026, 1, 2):
            [p2] = proposals_of(db, a2.id)
            decide_proposal(ctx=act(officer, noon), proposal_id=p2.id, confirm=False, reason="初犯 低风险 low risk")
            assert a2.tier == "ordinary"
        if d.day == 20:
            for kind in ("study", "service"):
                enter_hours(ctx=act(officer, noon), supervisee_id=a2.id, month=d.isoformat()[:7], kind=kind,
                            hours=8, note="集中教育")
        if d.day == 2 and d.month > 1:
            for sid in (a.id, a2.id):
                last = db.scalar(select(MonthlyAssessment).where(MonthlyAssessment.supervisee_id == sid)
                                 .order_by(MonthlyAssessment.month.desc()))
                confirm_assessment(ctx=act(officer, noon), assessment_id=last.id, reason="月度考核")
        if d == date(2026, 6, 30):
            assert [p.to_tier for p in proposals_of(db, a2.id)] == ["strict"]  # 6 months not yet over
            tick(db, job, day)  # the check-in plans as they are before any decision
        db.flush()
        day += DAY

    # a: every proposal the rules made, in order, each decided by a person or still waiting
    assert [(s.kind, s.status) for s in sanctions_of(db, a.id)] == [
        ("admonition", "imposed"), ("warning", "imposed"), ("admonition", "imposed"), ("warning", "imposed"),
        ("revocation_proposal", "proposed")]
    assert all(s.decided_by and s.decision_reason for s in sanctions_of(db, a.id) if s.status != "proposed")
    assert a.tier == "strict" and len(proposals_of(db, a.id)) == 1  # strict stays strict while its reasons hold
    months = {m.month: m for m in db.scalars(select(MonthlyAssessment).where(MonthlyAssessment.supervisee_id == a.id))}
    assert [months[date(2026, m, 1)].grade for m in (1, 2, 3)] == ["fail", "fail", "fail"]  # a sanction each month
    assert months[date(2026, 4, 1)].breakdown["forced"] is None
    shortfalls = db.scalars(select(Alert.cause).where(Alert.supervisee_id == a.id, Alert.kind == "obligation_shortfall"))
    assert sorted(shortfalls)[:2] == ["obligation:2026-01:service", "obligation:2026-01:study"]
    # a2: the intake proposal rejected and not made again; towards lenient after six good months, proposed
    [p_intake, p_lenient] = proposals_of(db, a2.id)
    assert (p_intake.status, p_lenient.from_tier, p_lenient.to_tier, p_lenient.status) == (
        "rejected", "ordinary", "lenient", "proposed")
    assert p_lenient.proposed_at.astimezone(LOCAL_TZ).date() == date(2026, 7, 1)
    assert [r["rule"] for r in p_lenient.reasons] == ["good_record"]
    assert a2.tier == "ordinary"  # proposed, not decided: nothing changed
    decide_proposal(ctx=act(officer, end.replace(hour=10)), proposal_id=p_lenient.id, confirm=True,
                    reason="表现良好 six good months")
    assert a2.tier == "lenient"
    tick(db, job, end.replace(hour=11))  # the scheduler's next round re-plans for the new tier
    plans = list(db.scalars(select(CheckinPlan).where(CheckinPlan.supervisee_id == a2.id).order_by(CheckinPlan.id)))
    assert [(p.tier, p.valid_to is None) for p in plans] == [("ordinary", False), ("lenient", True)]
    # b: nobody decided anything: its intake proposal still waits, its tier and record are untouched
    assert b.tier == "ordinary" and [p.status for p in proposals_of(db, b.id)] == ["proposed"]
    assert sanctions_of(db, b.id) == []
    assert db.scalars(select(MonthlyAssessment.confirmed_at).where(MonthlyAssessment.supervisee_id == b.id)).all() \
        == [None] * 6
