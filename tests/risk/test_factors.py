"""The score is the sum of its named factors; a weight changes exactly its own factor."""
from __future__ import annotations

import math

from core.settings import RiskSettings
from risk.factors import FACTORS, Counted, score, weights_from


def test_score_is_the_sum_and_one_weight_moves_one_factor():
    counted = {"violations_recent": Counted(2, {"alerts": [1, 2]}), "signal_loss": Counted(1, {"alerts": [9]}),
               "new_intake": Counted(4)}
    weights = weights_from(RiskSettings())
    total, factors = score(counted, weights)
    assert [f.name for f in factors] == list(FACTORS)
    assert total == math.fsum(f.points for f in factors) == 2 * 5 + 1 * 4 + 4 * 2
    changed = {**weights, "signal_loss": 10.0}
    total2, factors2 = score(counted, changed)
    diff = [(a.name, a.points, b.points) for a, b in zip(factors, factors2) if a != b]
    assert diff == [("signal_loss", 4.0, 10.0)] and total2 - total == 6.0
