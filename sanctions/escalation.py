"""The escalation round: run the configured rules over every active supervisee's record and store
what they propose. Proposals only: a row ``proposed`` with its rule, facts and evidence, for an
officer to decide. Nothing is imposed here, nothing else changes.

Out of contact is read from the lost-contact alerts (Law art. 30) that an
officer has not found to be a false alarm, excused, or withdrawn by late
data; the counting rules read the sanctions officers imposed.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from alerts.facts import ProposalMade, Subject
from alerts.intake import apply_facts
from alerts.models import Alert, AlertKind
from core.jobs import JobContext
from sanctions import policy
from sanctions.models import KIND_LABELS, Sanction, SanctionStatus
from sanctions.rules import EscalationRules, Imposed, OutOfContact, propose
from supervision.models import Supervisee

NOT_HELD = ("false_alarm", "excused", "withdrawn")  # resolutions that take an alert out of the record


def _contacts(db, ids: list[int]) -> dict[int, list[OutOfContact]]:
    out: dict[int, list[OutOfContact]] = defaultdict(list)
    rows = db.execute(select(Alert.supervisee_id, Alert.id, Alert.occurred_at, Alert.cleared_at, Alert.detail).where(
        Alert.supervisee_id.in_(ids), Alert.kind == AlertKind.signal_lost,
        Alert.resolution.is_(None) | Alert.resolution.notin_(NOT_HELD)))
    for sid, aid, occurred, until, detail in rows:
        # An alert not yet resolved is re-opened by the next silence (alerts.raising): its detail then
        # holds the newest period's last fix, and the period is counted from there.
        last = (detail or {}).get("last_fix_at")
        out[sid].append(OutOfContact(aid, datetime.fromisoformat(last) if last else occurred, until))
    return out


def _imposed(db, ids: list[int]) -> dict[int, list[Imposed]]:
    out: dict[int, list[Imposed]] = defaultdict(list)
    rows = db.execute(select(Sanction.supervisee_id, Sanction.id, Sanction.kind, Sanction.decided_at).where(
        Sanction.supervisee_id.in_(ids), Sanction.status == SanctionStatus.imposed))
    for sid, rid, kind, at in rows:
        out[sid].append(Imposed(rid, kind, at))
    return out


def run_escalation(job: JobContext) -> int:
    """One round; the number of new proposals."""
    rules = EscalationRules.from_settings(job.settings.sanctions)
    people = {s.id: s for s in job.db.scalars(select(Supervisee).where(Supervisee.status == "active"))}
    ids = list(people)
    contacts, imposed = _contacts(job.db, ids), _imposed(job.db, ids)
    made = 0
    for sid, sup in people.items():
        for p in propose(rules, now=job.now, contacts=contacts.get(sid, ()), imposed=imposed.get(sid, ())):
            # The unique (supervisee, rule_key) makes a step once, also with two processes at once.
            new_id = job.db.scalar(insert(Sanction).values(
                supervisee_id=sid, office_id=sup.office_id, kind=p.kind, status=SanctionStatus.proposed,
                facts=p.facts, evidence=p.evidence, rule_key=p.rule_key, proposed_by=None, proposed_at=job.now,
                required_level=policy.level_for(job.db, sup.office_id, p.kind),
            ).on_conflict_do_nothing(constraint="sanctions_rule_once").returning(Sanction.id))
            if new_id is not None:
                made += 1
                job.record("sanction.propose", "sanction", new_id, detail={
                    "supervisee_id": sid, "office_id": sup.office_id, "kind": p.kind, "rule": p.rule_key,
                    "evidence": p.evidence})
                # The officer learns of it on the alert feed, not only by opening the page.
                apply_facts(job.db, Subject(sid, sup.office_id, sup.tier),
                            [ProposalMade("sanction", new_id, KIND_LABELS[p.kind])],
                            now=job.now, cfg=job.settings.alerts)
    return made
