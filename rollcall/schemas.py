"""Request models for roll-calls. Structure only; the service checks scope, enrolment and limits."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.schemas import Input


class RollcallIn(Input):
    supervisee_id: int = Field(ge=1, le=2**63 - 1)
    camera_id: int = Field(ge=1, le=2**63 - 1, description="a camera in scope (see the suggestions)")
    minutes: int | None = Field(default=None, ge=1, le=240,
                                description="time to reach the camera; default ZHIJIAO_ROLLCALL_DEFAULT_MINUTES (10)")
    gesture: str | None = Field(default=None, max_length=32,
                                description="the prescribed gesture (rollcall.gestures); default: one at random")


class RollcallDecideIn(Input):
    decision: Literal["confirmed", "overturned"]
    reason: str = Field(min_length=1, max_length=2000)


class RollcallCancelIn(Input):
    reason: str = Field(min_length=1, max_length=2000)
