"""Request and response models of the end of term: release, legal holds, purge records."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from core.schemas import Input, Output


class ReasonIn(Input):
    reason: str = Field(min_length=1, max_length=2000, description="Why (kept in the legal file and the audit trail).")


class ReleaseOut(Output):
    id: int
    supervisee_id: int
    kind: str = Field(description="term_end (the job, at the term's end) or early (an officer's decision)")
    released_at: datetime
    released_by: int | None
    reason: str
    summary: dict[str, Any] = Field(description="What stopping monitoring did: counts per step.")
    purge_due_at: datetime = Field(description="When the operational data is purged, unless a legal hold is set.")
    purged_at: datetime | None


class HoldOut(Output):
    id: int
    supervisee_id: int
    reason: str
    set_by: int
    set_at: datetime
    lifted_by: int | None
    lifted_at: datetime | None
    lift_reason: str | None


class PurgeRecordOut(Output):
    id: int
    supervisee_id: int
    purged_at: datetime
    counts: dict[str, int] = Field(description="Rows deleted or cleared per table; never content.")
    time_ranges: dict[str, list[str | None]] = Field(description="[first, last] time of the deleted rows per table.")


class LifecycleOut(Output):
    supervisee_id: int
    status: str
    term_end_at: datetime = Field(description="The term's end instant (local midnight after the last day).")
    release: ReleaseOut | None
    holds: list[HoldOut]
    purges: list[PurgeRecordOut]
