"""Every periodic job runs with the injectable clock and is wired to a real function."""
from __future__ import annotations

from datetime import timedelta

from core.jobs import JOBS


def test_every_job_runs_once(db, settings, clock, tmp_path):
    settings.audit.audit_checkpoint_path = tmp_path / "checkpoints.jsonl"
    for job in JOBS:
        job.run(db, now=clock.now() + timedelta(hours=1), settings=settings)
    assert {j.name for j in JOBS} >= {"escalation", "silence", "overdue_returns", "standing_permits",
                                      "audit_checkpoint"}
