"""Sanction jobs, run by the job runner with the injectable clock; the runner commits.

- ``sanction_rules``: the escalation rules propose (never impose) sanctions.
- ``assessment_month_end``: last month's assessment for everyone, once; shortfall alerts.
"""
from __future__ import annotations

from core.jobs import Job
from sanctions.escalation import run_escalation
from sanctions.monthly import run_month_end

JOBS: tuple[Job, ...] = (
    Job("sanction_rules", run_escalation, lambda s: s.sanctions.sanction_check_seconds),
    Job("assessment_month_end", run_month_end, lambda s: s.sanctions.sanction_check_seconds),
)
