"""Request and response models of the alert and webhook routes.

Inputs forbid unknown fields (core.schemas.Input). Outputs never carry
fence geometry: an exclusion zone can reveal a victim's address, and alert
detail written by producers is scrubbed of geometry-like keys before it leaves.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from core.schemas import Id, Input, Output

# `withdrawn`, `term_ended` and `decided` are absent on purpose: only the system withdraws (late data
# disproved the alert), closes an alert because the supervision ended, or a notice whose proposal was decided.
ResolutionIn = Literal["confirmed_violation", "false_alarm", "excused", "police_notified"]

# Keys that could hold a shape; dropped wherever they appear in free-form detail.
_GEOMETRY_KEYS = frozenset({"geom", "geometry", "geojson", "wkt", "wkb", "polygon", "coordinates", "boundary",
                            "fence_geom", "fence_geometry", "shape"})


def scrub(value: Any) -> Any:
    """A copy of ``value`` without geometry-like keys, at any depth."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if str(k).lower() not in _GEOMETRY_KEYS}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


class AlertOut(Output):
    id: int
    supervisee_id: int
    office_id: int
    kind: str
    cause: str
    severity: str
    state: str
    title: str
    detail: dict[str, Any]
    fence_id: int | None
    fence_version: int | None
    occurred_at: datetime
    created_at: datetime
    last_evidence_at: datetime | None
    evidence_count: int
    cleared_at: datetime | None
    assigned_to: int | None
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    resolved_at: datetime | None
    resolved_by: int | None
    resolution: str | None
    resolution_note: str | None
    escalation_level: int
    escalated_at: datetime | None
    reopen_count: int
    reopened_at: datetime | None

    @field_validator("detail", mode="before")
    @classmethod
    def _scrub(cls, value: Any) -> Any:
        return scrub(value or {})


class EvidenceOut(Output):
    """A fix (or other observation) behind the alert. The raw device payload stays in the database."""

    id: int
    fix_id: int | None
    t: datetime | None
    lon: float | None
    lat: float | None
    accuracy_m: float | None
    datum: str | None
    distance_m: float | None
    detail: dict[str, Any]
    added_at: datetime

    @field_validator("detail", mode="before")
    @classmethod
    def _scrub(cls, value: Any) -> Any:
        return scrub(value or {})


class NoteOut(Output):
    id: int
    alert_id: int
    author_id: int | None  # None: written by the system (e.g. a flapping re-open)
    body: str
    created_at: datetime


class AlertDetail(AlertOut):
    evidence: list[EvidenceOut] = Field(description="Most recent first; at most the latest 500 (see evidence_count).")
    notes: list[NoteOut]


class AssignIn(Input):
    officer_id: Id


class NoteIn(Input):
    body: str = Field(min_length=1, max_length=4000)


class ResolveIn(Input):
    reason: ResolutionIn = Field(description="Law art. 31: police_notified when stopping the violation failed.")
    note: str = Field(min_length=1, max_length=4000)


# --- webhooks --------------------------------------------------------------------

WebhookEventType = Literal["created", "evidence", "cleared", "acknowledged", "assigned", "note", "resolved",
                           "escalated", "reopened"]


class WebhookIn(Input):
    url: str = Field(min_length=8, max_length=2000, description="http(s) URL; link-local/metadata addresses refused")
    bureau_id: Id | None = Field(default=None, description="Default: the caller's own bureau")
    secret: str | None = Field(default=None, min_length=16, max_length=200,
                               description="HMAC key; generated when omitted. Shown only in this response.")
    description: str | None = Field(default=None, max_length=200)
    event_types: list[WebhookEventType] | None = Field(default=None, max_length=16,
                                                       description="Only these event types; default all")


class WebhookUpdate(Input):
    not_null = frozenset({"active"})
    active: bool | None = None
    description: str | None = Field(default=None, max_length=200)
    event_types: list[WebhookEventType] | None = Field(default=None, max_length=16)


class WebhookOut(Output):
    id: int
    bureau_id: int
    url: str
    description: str | None
    event_types: list[str] | None
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Shown once: the HMAC-SHA256 key that signs every delivery.")


class DeliveryOut(Output):
    id: int
    webhook_id: int
    event_id: int
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
