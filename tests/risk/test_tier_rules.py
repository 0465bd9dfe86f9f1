"""The tier rules as plain values: every reason into strict, the two ways towards lenient, and a
rejected step that is not proposed again until something new happens."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from risk.tiers import TierRecord, TierRules, months_between, propose_tier

RULES = TierRules()
START = date(2026, 1, 1)


def record(**kw):
    base = dict(tier="ordinary", today=date(2026, 8, 10), term_start=START, tier_since=START)
    return TierRecord(**{**base, **kw})


def rules_of(move):
    return None if move is None else (move.to_tier, [r["rule"] for r in move.reasons])


def test_into_strict_for_each_reason():
    assert rules_of(propose_tier(RULES, record(today=date(2026, 2, 28)))) == ("strict", ["intake"])
    assert rules_of(propose_tier(RULES, record(risk_score=30.0, risk_id=5))) == ("strict", ["risk_high"])
    assert propose_tier(RULES, record(risk_score=29.9, risk_id=5)) is None
    assert propose_tier(RULES, record(admonitions=[4])) is None
    assert rules_of(propose_tier(RULES, record(admonitions=[4, 9]))) == ("strict", ["admonitions"])
    assert rules_of(propose_tier(RULES, record(warnings=[7], failed_assessments=[3]))) == (
        "strict", ["warning", "failed_assessment"])
    # from lenient too; at strict a reason keeps it there (no proposal either way)
    assert rules_of(propose_tier(RULES, record(tier="lenient", warnings=[7]))) == ("strict", ["warning"])
    assert propose_tier(RULES, record(tier="strict", warnings=[7], quarter_scores=[(1, 95), (2, 95)])) is None


def test_towards_lenient():
    good = [(1, 85.0), (2, 90.0), (3, 80.0)]
    assert rules_of(propose_tier(RULES, record(quarter_scores=good))) == ("lenient", ["good_record"])
    # six months at ordinary are needed; an average below 80 is not enough
    assert propose_tier(RULES, record(tier_since=date(2026, 3, 1), quarter_scores=good)) is None
    assert propose_tier(RULES, record(quarter_scores=[(1, 85.0), (2, 70.0)])) is None
    # three praises in a row, at any time after intake; a sanction in between breaks the run
    praises = [(9, "praise"), (8, "praise"), (6, "praise")]
    assert rules_of(propose_tier(RULES, record(tier_since=date(2026, 7, 1), latest_records=praises))) == (
        "lenient", ["praises"])
    assert propose_tier(RULES, record(latest_records=[(9, "praise"), (8, "admonition"), (6, "praise")])) is None
    # strict → ordinary after two months at strict, intake over
    assert rules_of(propose_tier(RULES, record(tier="strict", tier_since=date(2026, 3, 1),
                                               today=date(2026, 5, 2), quarter_scores=good))) == (
        "ordinary", ["good_record"])


def test_the_key_names_the_step_not_the_day():
    a = propose_tier(RULES, record(risk_score=40.0, risk_id=5))
    b = propose_tier(RULES, record(risk_score=44.0, risk_id=6, today=date(2026, 8, 11)))
    assert a.rule_key == b.rule_key  # a rejected "high risk" is not proposed again every day
    c = propose_tier(RULES, record(risk_score=44.0, risk_id=6, warnings=[3]))
    assert c.rule_key != a.rule_key  # new evidence: a new step
    assert months_between(date(2026, 1, 31), date(2026, 2, 28)) == 0 and months_between(START, date(2026, 7, 1)) == 6


def test_tier_since_follows_a_tier_changed_by_hand(db, world, job):
    from datetime import datetime, timedelta

    from checkins.models import CheckinPlan
    from core.localtime import LOCAL_TZ
    from risk.compute import tier_since
    from tests.checkins.helpers import tick

    a = world.supervisees["a"]
    assert tier_since(db, a) == a.term_start
    t = datetime(2026, 6, 3, 9, tzinfo=LOCAL_TZ)
    tick(db, job, t)
    a.tier = "lenient"  # an officer's edit of the record, not a proposal
    db.flush()
    tick(db, job, t + timedelta(days=1))
    assert db.scalar(select(CheckinPlan.valid_to).where(CheckinPlan.supervisee_id == a.id,
                                                        CheckinPlan.tier == "ordinary")) == t + timedelta(days=1)
    assert tier_since(db, a) == date(2026, 6, 4)
