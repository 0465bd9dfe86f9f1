"""Request models for check-ins. Structure only; the service checks windows, nonces and limits."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from checkins.models import Decision
from core.schemas import Input
from geo.datum import DatumName

_WINDOW = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$"


class LocationCheckinIn(Input):
    """A location-only check-in (the phone's device credential, or an account)."""

    nonce: str = Field(min_length=16, max_length=128)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    accuracy_m: float = Field(gt=0, le=10_000)
    datum: DatumName = "wgs84"


class SpotCheckIn(Input):
    supervisee_id: int = Field(ge=1, le=2**63 - 1)
    minutes: int | None = Field(default=None, ge=5, le=24 * 60,
                                description="answer window; default the policy's (60 min)")
    requires_face: bool = True


class DecideIn(Input):
    decision: Decision
    reason: str = Field(min_length=1, max_length=2000)


class PolicyIn(Input):
    """A jurisdiction's own check-in rules; a field left out or null inherits."""

    plan: Literal["tier", "fixed_windows"] | None = None
    daily_window: str | None = Field(default=None, pattern=_WINDOW)
    report_window: str | None = Field(default=None, pattern=_WINDOW)
    report_weekday: int | None = Field(default=None, ge=0, le=6)
    fixed_windows: list[Annotated[str, StringConstraints(pattern=_WINDOW)]] | None = Field(default=None, max_length=12)
    spot_per_week: int | None = Field(default=None, ge=0, le=21)
    spot_answer_minutes: int | None = Field(default=None, ge=5, le=24 * 60)

