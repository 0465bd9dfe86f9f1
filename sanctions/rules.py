"""Escalation rules (pure): from a supervisee's record to the sanctions the system *proposes*.

Plain values in, proposals out; nothing here reads the database or changes
anything. Defaults are Wenzhou's local rule (DOMAIN): out of contact ≤ 10
days → 训诫, > 10 days → 警告, > 1 month → revocation proposal; every two
imposed 训诫 → 警告; every two imposed 警告 → revocation proposal. Each
proposal carries a ``rule_key`` naming the step and its evidence, unique per
supervisee: the same step is proposed once, and a rejected one stays rejected.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sanctions.models import SanctionKind

DAY = 86400.0


@dataclass(frozen=True)
class EscalationRules:
    admonish_max_days: float = 10.0
    revoke_days: float = 30.0
    admonitions_to_warning: int = 2
    warnings_to_revocation: int = 2

    @classmethod
    def from_settings(cls, cfg) -> EscalationRules:
        return cls(cfg.sanction_contact_admonish_max_days, cfg.sanction_contact_revoke_days,
                   cfg.sanction_admonitions_to_warning, cfg.sanction_warnings_to_revocation)


@dataclass(frozen=True)
class OutOfContact:
    """A lost-contact alert (Law art. 30): silent since ``since``; ``until`` None while it lasts."""

    alert_id: int
    since: datetime
    until: datetime | None


@dataclass(frozen=True)
class Imposed:
    """A sanction an officer imposed (decided), in decision order."""

    id: int
    kind: str
    decided_at: datetime


@dataclass(frozen=True)
class Proposal:
    kind: SanctionKind
    rule_key: str
    facts: str
    evidence: dict[str, list[int]] = field(default_factory=dict)


def _contact(rules: EscalationRules, c: OutOfContact, now: datetime) -> list[Proposal]:
    days = ((c.until or now) - c.since).total_seconds() / DAY
    ended = "ended" if c.until is not None else "still lasting"
    facts = f"失去联系 out of contact {days:.1f} days since {c.since.isoformat()} ({ended}), alert #{c.alert_id}"
    evidence = {"alerts": [c.alert_id]}
    key = f"contact:{c.alert_id}:{c.since.isoformat()}"  # one alert can hold several periods (re-opened)
    out = []
    if days > rules.admonish_max_days:
        out.append(Proposal(SanctionKind.warning, key, facts, evidence))
    elif c.until is not None:
        # Not before contact is back: until then nobody knows it will stay ≤ the limit.
        out.append(Proposal(SanctionKind.admonition, key, facts, evidence))
    if days > rules.revoke_days:
        out.append(Proposal(SanctionKind.revocation_proposal, f"{key}:revocation", facts, evidence))
    return out


def _every(n: int, rows: Sequence[Imposed], kind: SanctionKind, then: SanctionKind, name: str) -> list[Proposal]:
    """One ``then`` proposal for every ``n`` imposed ``kind`` (each group of n counted once)."""
    mine = sorted((r for r in rows if r.kind == kind), key=lambda r: (r.decided_at, r.id))
    out = []
    for i in range(0, len(mine) - n + 1, n):
        group = [r.id for r in mine[i:i + n]]
        out.append(Proposal(then, f"{name}:{','.join(map(str, group))}",
                            f"{n} × {name} imposed (#{', #'.join(map(str, group))})", {"sanctions": group}))
    return out


def propose(rules: EscalationRules, *, now: datetime, contacts: Sequence[OutOfContact],
            imposed: Sequence[Imposed]) -> list[Proposal]:
    """Every proposal the rules make on this record (the caller keeps each rule_key once)."""
    out = [p for c in contacts for p in _contact(rules, c, now)]
    out += _every(rules.admonitions_to_warning, imposed, SanctionKind.admonition, SanctionKind.warning, "admonitions")
    out += _every(rules.warnings_to_revocation, imposed, SanctionKind.warning, SanctionKind.revocation_proposal,
                  "warnings")
    return out
