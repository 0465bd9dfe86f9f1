"""Plan rules as stored with each plan (JSON), and the effective rules of many offices at once."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from checkins.models import CheckinPolicy
from checkins.plans import PlanKind, PlanRule, Window, first_report_day
from checkins.policy import EffectivePolicy, inherit
from core.settings import CheckinSettings
from supervision.models import Jurisdiction, Tier

# Biweekly plans are grouped by the parity of their first 报到 day, counted
# from this Monday, so one day's slots are computed once per parity, not per plan.
CYCLE_EPOCH = date(2024, 1, 1)


def rule_json(rule: PlanRule) -> dict:
    return {"kind": str(rule.kind), "daily": [str(w) for w in rule.daily],
            "report": str(rule.report) if rule.report else None, "report_weekday": rule.report_weekday,
            "report_every": rule.report_every, "spot_per_week": rule.spot_per_week, "waking": str(rule.waking),
            "spot_minutes": rule.spot_minutes}


def rule_from_json(data: dict) -> PlanRule:
    return PlanRule(PlanKind(data["kind"]), tuple(Window.parse(w) for w in data["daily"]),
                    Window.parse(data["report"]) if data["report"] else None, data["report_weekday"],
                    data["report_every"], data["spot_per_week"], Window.parse(data["waking"]), data["spot_minutes"])


def cycle_anchor(rule: PlanRule, start_day: date) -> date | None:
    """The normalised first 报到 day of a biweekly plan starting on ``start_day`` (None otherwise)."""
    if rule.report_every != "biweekly":
        return None
    first = first_report_day(rule, start_day)
    return CYCLE_EPOCH + timedelta(days=(first - CYCLE_EPOCH).days % 14)


def office_policies(db: Session, office_ids: list[int], cfg: CheckinSettings) -> dict[int, EffectivePolicy]:
    """The effective policy of each office, in two queries (the scheduler needs thousands at once)."""
    rows = {p.jurisdiction_id: p for p in db.scalars(select(CheckinPolicy))}
    if not rows:
        default = inherit({}, [], cfg)  # no overrides anywhere: the settings
        return {oid: default for oid in office_ids}
    paths = dict(db.execute(select(Jurisdiction.id, Jurisdiction.path).where(Jurisdiction.id.in_(office_ids))).all())
    return {oid: inherit(rows, [int(p) for p in paths.get(oid, "").strip("/").split("/") if p][::-1], cfg)
            for oid in office_ids}


def expected_rules(policies: dict[int, EffectivePolicy], cfg: CheckinSettings) -> dict[tuple[int, str], PlanRule]:
    """(office, tier) → the rule a plan made now must have."""
    return {(oid, str(t)): pol.rule(str(t), cfg) for oid, pol in policies.items() for t in Tier}
