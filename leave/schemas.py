"""Request and response models for leave. Structure only; the rules (times,
limits, authority) are checked by the service, whatever the client sends."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from geo.datum import DatumName
from geo.fences.schemas import ShapeIn
from core.schemas import Id, Input, Output

_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class DestinationIn(ShapeIn):
    """An address line plus exactly one of circle (point + radius), GeoJSON polygon or admin_codes."""

    address: str = Field(min_length=1, max_length=300)

    @model_validator(mode="after")
    def _one_shape(self) -> "DestinationIn":
        if len(self.shape_fields()) != 1:
            raise ValueError("give exactly one of circle, geometry or admin_codes")
        return self


class LeaveIn(Input):
    supervisee_id: Id | None = Field(default=None, description="required when staff enter the request")
    destination: DestinationIn
    reason: str = Field(min_length=1, max_length=2000)
    depart_at: AwareDatetime
    return_at: AwareDatetime


class DecisionIn(Input):
    reason: str = Field(min_length=1, max_length=2000, description="required for approvals and rejections")


class WithdrawIn(Input):
    reason: str | None = Field(default=None, max_length=2000)


class ExtendIn(Input):
    return_at: AwareDatetime = Field(description="the new, later return time")
    reason: str = Field(min_length=1, max_length=2000)


class CutShortIn(Input):
    return_at: AwareDatetime = Field(description="the new, sooner return time")
    reason: str = Field(min_length=1, max_length=2000)


class ReturnIn(Input):
    """The return check-in (销假): where the supervisee is now."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    accuracy_m: float = Field(gt=0, le=10_000)
    datum: DatumName = "wgs84"


class LeaveOut(Output):
    id: int
    supervisee_id: int
    office_id: int
    parent_id: int | None
    requested_by: int
    requested_at: datetime
    reason: str
    address: str
    destination: dict[str, Any] = Field(description="the destination as entered (datum as declared)")
    depart_at: datetime
    return_at: datetime
    return_due_at: datetime
    days: int
    total_days: int
    required_level: str
    status: str
    decided_by: int | None
    decided_level: str | None
    decided_at: datetime | None
    decision_reason: str | None
    withdrawn_at: datetime | None
    cut_short_at: datetime | None
    fence_id: int | None
    returned_at: datetime | None
    overdue_alert_id: int | None


class PermitIn(Input):
    supervisee_id: Id | None = None
    area: DestinationIn
    reason: str = Field(min_length=1, max_length=2000)
    weekdays: list[int] = Field(min_length=1, max_length=7, description="Monday = 0 … Sunday = 6")
    start_time: str = Field(pattern=_HHMM, examples=["07:30"])
    end_time: str = Field(pattern=_HHMM, examples=["19:00"], description="end <= start crosses midnight")
    valid_from: date
    valid_until: date

    @model_validator(mode="after")
    def _check(self) -> "PermitIn":
        if not set(self.weekdays) <= set(range(7)):
            raise ValueError("weekdays must be integers 0 (Monday) to 6 (Sunday)")
        if self.start_time == self.end_time:
            raise ValueError("start_time and end_time must differ")
        self.weekdays = sorted(set(self.weekdays))
        return self


class PermitOut(Output):
    id: int
    supervisee_id: int
    office_id: int
    requested_by: int
    requested_at: datetime
    reason: str
    address: str
    area: dict[str, Any]
    weekdays: list[int]
    start_time: str
    end_time: str
    valid_from: date
    valid_until: date
    required_level: str
    status: str
    decided_by: int | None
    decided_at: datetime | None
    decision_reason: str | None
    ended_at: datetime | None


class PolicyIn(Input):
    """A jurisdiction's own leave rules; a field left out (or null) inherits."""

    office_max_days: int | None = Field(default=None, ge=0, le=366)
    max_days: int | None = Field(default=None, ge=1, le=366)
    yearly_cap_days: int | None = Field(default=None, ge=1, le=366)
    min_notice_hours: int | None = Field(default=None, ge=0, le=24 * 60)
    permit_max_months: int | None = Field(default=None, ge=1, le=24)
    permit_level: Literal["office", "bureau"] | None = None


class Reconciliation(BaseModel):
    ok: bool
    report: dict[str, int]
    audit: dict[str, int]
