"""Request and response models for electronic-positioning orders. Structure only:
the law's limits (three months, the bureau head) are checked by the service."""
from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from core.schemas import Input, Output
from orders.models import Ground


class OrderIn(Input):
    ground: Ground = Field(description="one of the five situations of Law art. 29")
    facts: str = Field(min_length=1, max_length=4000, description="what happened that meets the ground")
    starts_at: AwareDatetime
    ends_at: AwareDatetime = Field(description="at most 3 calendar months after starts_at (orders.rules)")


class ApproveIn(Input):
    note: str | None = Field(default=None, max_length=2000)


class ExtensionIn(Input):
    reassessment: str = Field(min_length=1, max_length=4000, description="the reassessment the extension rests on")
    ends_at: AwareDatetime = Field(description="the new end: at most 3 calendar months after the current end")


class TerminateIn(Input):
    reason: str = Field(min_length=1, max_length=2000)


class ExtensionOut(Output):
    id: int
    reassessment: str
    previous_ends_at: datetime
    ends_at: datetime
    status: str
    proposed_by: int
    proposed_at: datetime
    approved_by: int | None
    approved_at: datetime | None


class OrderOut(Output):
    id: int
    supervisee_id: int
    office_id: int
    ground: str
    ground_wording: str = Field(description="the law's words for the ground (社区矫正法第二十九条)")
    facts: str
    proposed_by: int
    proposed_at: datetime
    starts_at: datetime
    ends_at: datetime
    status: str
    approved_by: int | None
    approved_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    in_force: bool = Field(description="positioning is lawful now under this order")
    extensions: list[ExtensionOut] = Field(default_factory=list)
