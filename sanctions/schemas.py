"""Request models for sanctions, assessments, obligations, risk and tier decisions (structure only)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.schemas import Id, Input
from sanctions.models import ObligationKind, SanctionKind

_IDS = list[Id]


class EvidenceIn(Input):
    """What a sanction rests on, by id: alerts, check-in ledger entries, episodes."""

    alerts: _IDS = Field(default_factory=list, max_length=200)
    ledger: _IDS = Field(default_factory=list, max_length=200)
    episodes: _IDS = Field(default_factory=list, max_length=200)


class SanctionIn(Input):
    kind: SanctionKind
    facts: str = Field(min_length=1, max_length=4000)
    evidence: EvidenceIn = Field(default_factory=EvidenceIn)


class SanctionDecideIn(Input):
    decision: Literal["impose", "reject"]
    reason: str = Field(min_length=1, max_length=2000)


class ConfirmIn(Input):
    reason: str = Field(min_length=1, max_length=2000)


class ObligationIn(Input):
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (local)")
    kind: ObligationKind
    hours: float = Field(gt=0, le=200)
    note: str | None = Field(default=None, max_length=500)


class TierDecideIn(Input):
    decision: Literal["confirm", "reject"]
    reason: str = Field(min_length=1, max_length=2000)


class SanctionPolicyIn(Input):
    """A jurisdiction's own approval levels; a field left out or null inherits."""

    praise_level: Literal["office", "bureau"] | None = None
    admonition_level: Literal["office", "bureau"] | None = None
    warning_level: Literal["office", "bureau"] | None = None
    proposal_level: Literal["office", "bureau"] | None = None
    tier_level: Literal["office", "bureau"] | None = None
