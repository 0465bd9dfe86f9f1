"""End of term: legal file. A tier decision must stay explainable after the operational data is gone,
so the daily risk assessments and their factors (weights, values, evidence *ids*, never content) are
kept with the tier proposals they justified; the ids then point at purged rows, which is the point."""
from __future__ import annotations

from core.retention import Retention

RETENTION = Retention(package="risk", legal_file=("risk_assessments", "risk_factors", "tier_proposals"))
