"""The daily risk job stores every factor with its weight, value, points and evidence; they sum to the
score; changing one weight changes exactly that factor (and the score by the same amount)."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select

from alerts.facts import EpisodeOpened, Subject
from alerts.intake import apply_facts
from core.localtime import LOCAL_TZ
from risk.compute import run_risk
from risk.models import RiskAssessment, RiskFactor
from tests.sanctions.helpers import lose_contact

T = datetime(2026, 4, 15, 6, tzinfo=LOCAL_TZ)


def stored(db, sid, day):
    a = db.scalar(select(RiskAssessment).where(RiskAssessment.supervisee_id == sid,
                                               RiskAssessment.computed_on == day.date()))
    return a, {f.name: f for f in db.scalars(select(RiskFactor).where(RiskFactor.assessment_id == a.id))}


def test_factors_sum_to_the_score_and_one_weight_changes_one_factor(db, world, settings, job):
    a = world.supervisees["a"]
    lost = lose_contact(db, settings, a, since=T - timedelta(days=20), until=T - timedelta(days=19))
    [[curfew]] = apply_facts(db, Subject(a.id, a.office_id, a.tier), [EpisodeOpened(
        fence_id=1, fence_kind="curfew", fence_version=1, on_leave=False, opened_at=T - timedelta(days=5),
        closed_at=None, evidence=[])], now=T - timedelta(days=5), cfg=settings.alerts)
    db.flush()
    run_risk(job(T))
    first, factors = stored(db, a.id, T)
    assert math.isclose(first.score, math.fsum(f.points for f in factors.values()))
    assert all(f.points == f.weight * f.value for f in factors.values())
    assert (factors["signal_loss"].value, factors["signal_loss"].evidence) == (1, {"alerts": [lost]})
    assert (factors["night_outings"].value, factors["night_outings"].evidence) == (1, {"alerts": [curfew]})
    assert factors["violations_recent"].evidence == {"alerts": [curfew]}  # a curfew breach is a violation too
    assert factors["new_intake"].evidence["months_since_intake"] == 3
    assert first.score == 5 + 4 + 3 + 2 * 3  # violation + lost contact + night outing + 3 months short of 6

    settings.risk.risk_weight_night_outings = 10.0
    day2 = T + timedelta(days=1)
    run_risk(job(day2))
    second, factors2 = stored(db, a.id, day2)
    changed = {n for n in factors if (factors[n].weight, factors[n].points) != (factors2[n].weight, factors2[n].points)}
    assert changed == {"night_outings"}
    assert factors2["night_outings"].points == 10.0 and second.score - first.score == 7.0
    # the same day again: one assessment per supervisee and day
    run_risk(job(day2 + timedelta(hours=3)))
    assert db.scalar(select(RiskAssessment.id).where(RiskAssessment.supervisee_id == a.id,
                                                     RiskAssessment.computed_on == day2.date())) == second.id
