"""Violation episodes with hysteresis, as a pure fold over ordered fixes.

Input per (supervisee, fence): observations ``(t, fix_id, status)`` with
``t`` in UTC epoch seconds and ``status`` a :class:`Compliance`.  They are
sorted by ``(t, fix_id)`` first, so the result depends only on the *set*
of observations, never on arrival order.

Rules (with ``rule.min_fixes`` = k and ``rule.min_seconds`` = s):

* Uncertain / not-applicable observations are skipped: they neither count
  nor break a run.
* While no episode is open, a run of consecutive VIOLATING observations
  opens one as soon as it holds >= k fixes spanning >= s seconds (last minus
  first).  ``opened_at`` is the time of the run's first fix and the run's fix
  ids are the evidence.  A COMPLIANT observation breaks the run.
* While an episode is open, a run of COMPLIANT observations closes it under
  the same k / s rule; ``closed_at`` is the time of that run's first fix
  (when the person came back).  A VIOLATING observation breaks that run.

Episodes carry ``seq``, their ordinal in the fold (0, 1, 2, ...), which is a
stable identity for upserts: see :func:`replay`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import IntEnum

__all__ = [
    "Compliance",
    "Episode",
    "PersistenceRule",
    "PersistenceState",
    "episodes",
    "replay",
]


class Compliance(IntEnum):
    """Per-fix status against a rule; only COMPLIANT and VIOLATING are definite."""

    NOT_APPLICABLE = 0
    COMPLIANT = 1
    VIOLATING = 2
    UNCERTAIN = 3


@dataclass(frozen=True, slots=True)
class PersistenceRule:
    """How long a state must persist before an episode opens (or closes)."""

    min_fixes: int = 2
    min_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.min_fixes < 1 or self.min_seconds < 0:
            raise ValueError("min_fixes must be >= 1 and min_seconds >= 0")


@dataclass(frozen=True, slots=True)
class Episode:
    seq: int
    opened_at: float
    closed_at: float | None
    evidence_fix_ids: tuple[int, ...]  # the opening run
    closing_fix_ids: tuple[int, ...] = ()  # the closing run, once closed


Key = tuple[float, int]


@dataclass(frozen=True, slots=True)
class PersistenceState:
    """Everything the fold needs to continue after ``as_of`` (the last fix folded in)."""

    rule: PersistenceRule
    as_of: Key | None = None
    closed_count: int = 0  # episodes finalised before as_of; the next one gets this seq
    open_episode: Episode | None = None
    run: tuple[Key, ...] = field(default=())  # current run (violating if closed, compliant if open)


def _sorted_unique(observations: Iterable[tuple[float, int, int]]) -> list[tuple[float, int, int]]:
    by_id: dict[int, tuple[float, int, int]] = {}
    for t, fid, status in observations:
        obs = (float(t), int(fid), int(status))
        prev = by_id.setdefault(obs[1], obs)
        if prev != obs:
            raise ValueError(f"fix {fid} given twice with different time or status: {prev} vs {obs}")
    return sorted(by_id.values())


def replay(
    prior: PersistenceState | None,
    observations: Iterable[tuple[float, int, int]],
    rule: PersistenceRule | None = None,
) -> tuple[list[Episode], PersistenceState]:
    """Continue the fold from ``prior`` (None = from scratch) over ``observations``.

    Contract for results equal to the full recomputation: ``prior`` must be a
    state returned by an earlier call, and ``observations`` must hold *every*
    observation whose key ``(t, fix_id)`` is greater than ``prior.as_of`` --
    the ones passed before as well as the new ones (duplicates are fine).
    Any observation at or before ``prior.as_of`` is refused (ValueError):
    a late fix invalidates every snapshot after it, so the caller must go
    back to a snapshot older than its earliest new fix (or to None).

    Returns the episodes still open at ``prior`` or started after it
    (``seq >= prior.closed_count``) -- episodes with smaller ``seq`` are final
    and unchanged -- and the state after the last observation.
    """
    if prior is None:
        state = PersistenceState(rule=rule or PersistenceRule())
    else:
        if rule is not None and rule != prior.rule:
            raise ValueError("rule differs from the one the prior state was built with")
        state = prior
    obs = _sorted_unique(observations)
    if state.as_of is not None and obs and (obs[0][0], obs[0][1]) <= state.as_of:
        raise ValueError(
            f"observation {obs[0][:2]} is not after the snapshot {state.as_of}; replay from an earlier snapshot"
        )
    k, s = state.rule.min_fixes, state.rule.min_seconds
    seq = state.closed_count
    current = state.open_episode
    run: list[Key] = list(state.run)
    out: list[Episode] = []
    for t, fid, status in obs:
        if status == Compliance.VIOLATING:
            if current is None:
                run.append((t, fid))
                if len(run) >= k and t - run[0][0] >= s:
                    current = Episode(seq, run[0][0], None, tuple(f for _, f in run))
                    run = []
            else:
                run = []
        elif status == Compliance.COMPLIANT:
            if current is None:
                run = []
            else:
                run.append((t, fid))
                if len(run) >= k and t - run[0][0] >= s:
                    out.append(replace(current, closed_at=run[0][0], closing_fix_ids=tuple(f for _, f in run)))
                    seq += 1
                    current = None
                    run = []
    if current is not None:
        out.append(current)
    as_of = (obs[-1][0], obs[-1][1]) if obs else state.as_of
    new_state = PersistenceState(state.rule, as_of, seq, current, tuple(run))
    return out, new_state


def episodes(observations: Iterable[tuple[float, int, int]], rule: PersistenceRule | None = None) -> list[Episode]:
    """All violation episodes for one supervisee+fence from the full set of observations."""
    return replay(None, observations, rule)[0]
