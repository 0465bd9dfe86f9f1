"""Risk job, run by the job runner with the injectable clock; the runner commits.

- ``risk``: daily, every active supervisee's explainable score and the tier rules' proposals.
"""
from __future__ import annotations

from core.jobs import Job
from risk.compute import run_risk

JOBS: tuple[Job, ...] = (Job("risk", run_risk, lambda s: s.risk.risk_check_seconds),)
