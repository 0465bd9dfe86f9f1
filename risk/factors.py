"""Explainable risk (pure): the score is the sum of named factors, each weight × value, with its evidence.

A factor's value is what was counted (alerts, check-ins, sanctions, months);
its weight is a setting (``ZHIJIAO_RISK_WEIGHT_<NAME>``); its points are the
product. Changing one weight changes that factor's points and the score by
exactly the difference, and nothing else.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FACTORS = ("violations_recent", "violations_older", "exclusion_zone", "missed_checkins", "failed_checkins",
           "signal_loss", "integrity", "night_outings", "sanctions", "new_intake")


@dataclass(frozen=True)
class Counted:
    """What one factor counted: its value and the ids (or facts) it rests on."""

    value: float
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Factor:
    name: str
    weight: float
    value: float
    points: float
    evidence: dict[str, Any]


def weights_from(cfg) -> dict[str, float]:
    return {name: getattr(cfg, f"risk_weight_{name}") for name in FACTORS}


def score(counted: Mapping[str, Counted], weights: Mapping[str, float]) -> tuple[float, list[Factor]]:
    """(score, factors): every factor of FACTORS, in that order; a factor not counted is 0."""
    factors = []
    for name in FACTORS:
        c = counted.get(name, Counted(0.0))
        factors.append(Factor(name, weights[name], c.value, weights[name] * c.value, c.evidence))
    return math.fsum(f.points for f in factors), factors
