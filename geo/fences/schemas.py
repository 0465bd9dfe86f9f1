"""Request and response models for geofences.

Only the structure is checked here (which of geometry / circle / admin_codes,
window shapes, ranges); the geometry itself is validated by
geo.geometry_input, which needs the datum and produces the reasons.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field, model_validator

from geo.datum import DatumName
from geo.engine import FenceKind
from core.schemas import AdminCode, Input, Output

_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class CircleIn(Input):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(gt=-90, lt=90)
    radius_m: float = Field(description="metres, > 0 and at most 50 km")


class CurfewWindowIn(Input):
    """Local wall-clock window (Asia/Shanghai); end <= start crosses midnight."""

    start: str = Field(pattern=_HHMM, examples=["22:00"])
    end: str = Field(pattern=_HHMM, examples=["06:00"])
    weekdays: list[int] = Field(default_factory=lambda: list(range(7)), min_length=1, max_length=7,
                                description="days the window starts on, Monday = 0")

    @model_validator(mode="after")
    def _check(self) -> "CurfewWindowIn":
        if self.start == self.end:
            raise ValueError("a curfew window needs start != end")
        if not set(self.weekdays) <= set(range(7)):
            raise ValueError("weekdays must be integers 0 (Monday) to 6 (Sunday)")
        self.weekdays = sorted(set(self.weekdays))
        return self


class ShapeIn(Input):
    """Exactly one of ``geometry`` (GeoJSON), ``circle`` or ``admin_codes``, with the datum it is in."""

    geometry: dict[str, Any] | None = Field(default=None, description="GeoJSON Polygon or MultiPolygon")
    circle: CircleIn | None = None
    admin_codes: list[AdminCode] | None = Field(default=None, min_length=1, max_length=20,
                                          description="union of administrative areas (permitted / leave areas)")
    datum: DatumName = "wgs84"

    def shape_fields(self) -> list[str]:
        return [n for n in ("geometry", "circle", "admin_codes") if getattr(self, n) is not None]


class RuleFields(Input):
    curfew: list[CurfewWindowIn] | None = Field(default=None, max_length=14)
    min_fixes: int | None = Field(default=None, ge=1, le=20, description="default 2")
    min_seconds: float | None = Field(default=None, ge=0, le=3600, description="default 60")
    valid_from: AwareDatetime | None = Field(default=None, description="default: now")
    valid_to: AwareDatetime | None = None


class FenceIn(ShapeIn, RuleFields):
    kind: FenceKind
    label: str | None = Field(default=None, min_length=1, max_length=200)
    sensitive: bool | None = Field(default=None, description="forced true for exclusion zones")

    @model_validator(mode="after")
    def _one_shape(self) -> "FenceIn":
        given = self.shape_fields()
        if len(given) != 1:
            raise ValueError("give exactly one of geometry, circle or admin_codes")
        return self


class FenceVersionIn(ShapeIn, RuleFields):
    """A new version: any field left out is carried over from the current version."""

    @model_validator(mode="after")
    def _at_most_one_shape(self) -> "FenceVersionIn":
        if len(self.shape_fields()) > 1:
            raise ValueError("give at most one of geometry, circle or admin_codes")
        if not self.model_fields_set - {"valid_from", "datum"}:
            raise ValueError("a new version must change something: geometry, curfew, rule or validity")
        return self


class FenceVersionSummary(Output):
    version: int
    valid_from: datetime
    valid_to: datetime | None
    gen: int
    created_by: int | None
    created_at: datetime


class FenceVersionOut(FenceVersionSummary):
    geometry: dict[str, Any] = Field(description="GeoJSON in WGS-84; a circle is its centre Point")
    radius_m: float | None
    datum: str = Field(description="datum the input was declared in (the geometry is always WGS-84)")
    admin_codes: list[str] | None
    curfew: list[dict[str, Any]]
    min_fixes: int
    min_seconds: float
    raw: dict[str, Any] = Field(description="the input as received, before datum conversion")


class FenceSummary(Output):
    id: int
    supervisee_id: int
    kind: str
    label: str
    sensitive: bool
    current_version: int
    valid_from: datetime
    valid_to: datetime | None
    retired_at: datetime | None
    created_at: datetime


class FenceOut(FenceSummary):
    current: FenceVersionOut
    versions: list[FenceVersionSummary]

