"""Tier rules (pure): from a supervisee's record to a tier move the system *proposes*, with its reasons.

Defaults (DOMAIN, one provincial rule): into strict for the first two months
of the term, on a high risk score, on two or more 训诫 or a 警告 / police
penalty since the tier began, or on a failed monthly assessment; one step
towards lenient after six months at ordinary (two at strict, once the intake
months are over) with the last quarter's confirmed average ≥ 80, or after
three praises in a row. Into-strict reasons win over lenient ones. The
``rule_key`` names the tier's start and the reasons with their evidence, so
a rejected proposal is not made again until something new happens.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

TOWARDS_LENIENT = {"strict": "ordinary", "ordinary": "lenient"}


def months_between(a: date, b: date) -> int:
    """Whole months from ``a`` to ``b``."""
    return (b.year - a.year) * 12 + b.month - a.month - (b.day < a.day)


@dataclass(frozen=True)
class TierRules:
    intake_months: int = 2
    high_score: float = 30.0
    strict_min_months: int = 2
    lenient_after_months: int = 6
    lenient_average: float = 80.0
    praises_in_a_row: int = 3

    @classmethod
    def from_settings(cls, cfg) -> TierRules:
        return cls(cfg.tier_intake_months, cfg.risk_high_score, cfg.tier_strict_min_months,
                   cfg.tier_lenient_after_months, cfg.tier_lenient_average, cfg.tier_praises_in_a_row)


@dataclass(frozen=True)
class TierRecord:
    tier: str
    today: date
    term_start: date
    tier_since: date
    risk_score: float | None = None
    risk_id: int | None = None
    admonitions: list[int] = field(default_factory=list)  # imposed since tier_since
    warnings: list[int] = field(default_factory=list)  # 警告 or police penalty imposed since tier_since
    failed_assessments: list[int] = field(default_factory=list)  # confirmed 不合格 of months since tier_since
    quarter_scores: list[tuple[int, float]] = field(default_factory=list)  # confirmed, last three months
    latest_records: list[tuple[int, str]] = field(default_factory=list)  # imposed since tier_since, newest first


@dataclass(frozen=True)
class TierMove:
    to_tier: str
    reasons: list[dict[str, Any]]
    rule_key: str


def _strict_reasons(rules: TierRules, r: TierRecord) -> list[dict[str, Any]]:
    out = []
    if months_between(r.term_start, r.today) < rules.intake_months:
        out.append({"rule": "intake", "detail": f"first {rules.intake_months} months of the term "
                    f"(from {r.term_start})", "evidence": {}})
    if r.risk_score is not None and r.risk_score >= rules.high_score:
        out.append({"rule": "risk_high", "detail": f"risk score {r.risk_score:g} ≥ {rules.high_score:g}",
                    "evidence": {"risk_assessments": [r.risk_id]}})
    if len(r.admonitions) >= 2:
        out.append({"rule": "admonitions", "detail": f"{len(r.admonitions)} 训诫 since {r.tier_since}",
                    "evidence": {"sanctions": r.admonitions}})
    if r.warnings:
        out.append({"rule": "warning", "detail": f"警告 / police penalty since {r.tier_since}",
                    "evidence": {"sanctions": r.warnings}})
    if r.failed_assessments:
        out.append({"rule": "failed_assessment", "detail": "a monthly assessment 不合格",
                    "evidence": {"assessments": r.failed_assessments}})
    return out


def _lenient_reasons(rules: TierRules, r: TierRecord) -> list[dict[str, Any]]:
    if months_between(r.term_start, r.today) < rules.intake_months:
        return []
    out = []
    needed = rules.strict_min_months if r.tier == "strict" else rules.lenient_after_months
    at_tier = months_between(r.tier_since, r.today)
    scores = [s for _, s in r.quarter_scores]
    if at_tier >= needed and len(scores) >= 2 and sum(scores) / len(scores) >= rules.lenient_average:
        out.append({"rule": "good_record", "detail": f"{at_tier} months at {r.tier}, quarterly average "
                    f"{sum(scores) / len(scores):.1f} ≥ {rules.lenient_average:g}",
                    "evidence": {"assessments": [i for i, _ in r.quarter_scores]}})
    run = r.latest_records[:rules.praises_in_a_row]
    if len(run) == rules.praises_in_a_row and all(kind == "praise" for _, kind in run):
        out.append({"rule": "praises", "detail": f"{rules.praises_in_a_row} 表扬 in a row",
                    "evidence": {"sanctions": [i for i, _ in run]}})
    return out


def _key(to_tier: str, r: TierRecord, reasons: list[dict[str, Any]]) -> str:
    # Evidence ids name the step; a fresh high score alone is the same step (no daily re-proposal).
    parts = [f"{x['rule']}:{','.join(str(i) for ids in x['evidence'].values() for i in ids)}"
             if x["rule"] != "risk_high" else "risk_high" for x in reasons]
    key = f"{to_tier}@{r.tier_since}:" + "|".join(parts)
    # Long evidence lists: the column holds a digest of the same text (still one key per step).
    return key if len(key) <= 200 else key[:100] + "#" + hashlib.sha256(key.encode()).hexdigest()


def propose_tier(rules: TierRules, r: TierRecord) -> TierMove | None:
    """The move the rules propose, or None."""
    if r.tier != "strict":
        reasons = _strict_reasons(rules, r)
        if reasons:
            return TierMove("strict", reasons, _key("strict", r, reasons))
    elif _strict_reasons(rules, r):
        return None  # strict stays strict while a reason for it holds
    if r.tier in TOWARDS_LENIENT:
        reasons = _lenient_reasons(rules, r)
        if reasons:
            to = TOWARDS_LENIENT[r.tier]
            return TierMove(to, reasons, _key(to, r, reasons))
    return None
