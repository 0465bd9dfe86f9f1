"""What producers observed, as plain values: the input of ``alerts.intake.apply_facts``.

Producers (ingest, the silence job) record facts only: an episode opened or
closed, fixes flagged, a battery low, contact restored. Which alert that
means, its kind, title, cause and every state change are decided in alerts/.
These classes import nothing from the database or from the producers, so a
lower layer can build them and a test can read them at a glance.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Subject:
    """The supervisee every fact of one call is about."""

    supervisee_id: int
    office_id: int
    tier: str


@dataclass
class Evidence:
    """One piece of evidence (usually a fix) as stored with an alert."""

    fix_id: int | None = None
    t: datetime | None = None
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    datum: str | None = None
    raw: dict[str, Any] | None = None
    distance_m: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EpisodeOpened:
    """A violation of a fence persisted: a new episode (already closed if ``closed_at`` is set)."""

    fence_id: int
    fence_kind: str  # geo.engine.FenceKind value: permitted, exclusion, curfew, leave_destination
    fence_version: int | None
    on_leave: bool  # a leave destination fence was valid when the episode opened
    opened_at: datetime
    closed_at: datetime | None
    evidence: list[Evidence]


@dataclass(frozen=True)
class EpisodeContinued:
    """An episode open before and after the batch, with fresh violating fixes."""

    alert_id: int
    evidence: list[Evidence]


@dataclass(frozen=True)
class EpisodeClosed:
    """An episode of ``alert_id`` ended (back in compliance) at ``closed_at``."""

    alert_id: int
    closed_at: datetime
    # Episodes of the alert still open, as stored before this call. Episodes
    # opened earlier in the same call are linked to their alert only by its
    # result, so apply_facts counts those itself.
    open_episodes: int


@dataclass(frozen=True)
class EpisodeWithdrawn:
    """Late fixes showed an episode of ``alert_id`` did not persist."""

    alert_id: int
    opened_at: datetime
    # Episodes of the alert not withdrawn, as stored before this call (see EpisodeClosed).
    episodes: int


@dataclass(frozen=True)
class FlaggedFix:
    """A fix the integrity checks flagged (future, speed, accuracy, mock, tamper)."""

    fix_id: int
    t: datetime
    lon: float
    lat: float
    accuracy_m: float | None
    datum: str
    raw: dict[str, Any] | None
    flags: frozenset[str]


@dataclass(frozen=True)
class FixesFlagged:
    """The flagged fixes of one batch from ``device_id``, in the batch's order."""

    device_id: int
    fixes: list[FlaggedFix]


@dataclass(frozen=True)
class BatteryLow:
    """The newest fix of a batch reports a low battery (not charging)."""

    device_id: int
    fix_id: int
    t: datetime
    battery_pct: float


@dataclass(frozen=True)
class ContactRestored:
    """A trusted fix at ``t`` arrived after the supervisee had been reported silent."""

    t: datetime


@dataclass(frozen=True)
class SignalLost:
    """No fix for longer than the tier's limit (Law art. 30: lost contact)."""

    last_fix_at: datetime | None
    limit_minutes: int
    tier: str


@dataclass(frozen=True)
class LeaveOverdue:
    """An approved leave was not reported back (销假) by its return time plus the grace period."""

    leave_id: int
    return_due_at: datetime
    grace_hours: float
    address: str | None


@dataclass(frozen=True)
class LeaveReturned:
    """The supervisee reported back from the leave at ``t``."""

    leave_id: int
    alert_id: int
    t: datetime


@dataclass(frozen=True)
class CheckinMissed:
    """A check-in window (plan occurrence or spot check) closed without a check-in.

    ``consecutive`` counts this supervisee's misses in a row, this one included
    (outage misses neither count nor break the run: they go to an officer).
    """

    occurrence_id: int
    kind: str  # checkins.plans.SlotKind: daily, window, report, spot
    opens_at: datetime
    closes_at: datetime
    consecutive: int


@dataclass(frozen=True)
class PhoneApart:
    """人机分离: a check-in's location is far from the phone's own trusted fix at that time."""

    submission_id: int
    distance_m: float
    checkin: Evidence  # the check-in's location
    phone: Evidence  # the phone's nearest trusted fix


@dataclass(frozen=True)
class ObligationShortfall:
    """At month end, fewer hours of study or public service were entered than the tier requires."""

    month: str  # "YYYY-MM" (local)
    kind: str  # sanctions.models.ObligationKind: study, service
    required_hours: float
    entered_hours: float
    month_end: datetime


@dataclass(frozen=True)
class OrderNotice:
    """An electronic-positioning order is about to lapse ("7d", "1d") or has lapsed ("lapsed")."""

    order_id: int
    event: str
    ends_at: datetime
    officer_id: int | None  # the responsible officer, named in the notice


@dataclass(frozen=True)
class ProposalMade:
    """A job proposed a sanction or a tier move: the system proposes, an officer decides (DOMAIN)."""

    what: str  # "sanction" | "tier"
    proposal_id: int
    summary: str  # what is proposed, for the title (e.g. "警告 · warning", "strict")


@dataclass(frozen=True)
class ProposalDecided:
    """The proposal a ProposalMade announced was decided: its notice has nothing left to ask."""

    what: str
    proposal_id: int
    decision: str  # imposed / rejected / confirmed


Fact = (EpisodeOpened | EpisodeContinued | EpisodeClosed | EpisodeWithdrawn | FixesFlagged | BatteryLow
        | ContactRestored | SignalLost | LeaveOverdue | LeaveReturned | CheckinMissed | PhoneApart
        | OrderNotice | ObligationShortfall | ProposalMade | ProposalDecided)

# Evidence rows one fact adds to an alert at most: a backlog of 1,000 flagged
# fixes must not write 1,000 rows (the alert keeps counting them all).
MAX_EVIDENCE = 20


@dataclass(frozen=True)
class TermEnding:
    """The supervision's term ends soon: a notice for the responsible officer (art. 44).

    ``days_before`` is the reminder step reached (30, 7...); ``days_left`` what the title says: a job
    that first runs the day before the end has passed both steps, and "in 7 days" would be wrong."""

    term_end: str  # ISO date, local
    days_before: int
    days_left: int


@dataclass(frozen=True)
class TermEnded:
    """The supervision ended (term end or early release): every unresolved alert closes as ``term_ended``."""

    at: datetime
