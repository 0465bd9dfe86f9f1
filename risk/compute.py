"""The daily risk round: count each factor for every active supervisee, store the assessment with its
factors, then run the tier rules and store what they propose (a proposal, never a tier change).

Windows (from the round's time): violations 30 days (recent) and 31–180 days
(older); exclusion entries 180 days; check-ins, lost contact, integrity and
curfew alerts 90 days; sanctions over the whole term. Alerts an officer
resolved as a false alarm, excused, or withdrawn by late data are not counted.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from alerts.facts import ProposalMade, Subject
from alerts.intake import apply_facts
from alerts.models import Alert, AlertKind
from checkins.models import CheckinLedgerEntry, CheckinPlan
from core.jobs import JobContext
from core.localtime import LOCAL_TZ
from risk.factors import Counted, score, weights_from
from risk.models import RiskAssessment, RiskFactor, TierProposal
from risk.tiers import TierRecord, TierRules, months_between, propose_tier
from sanctions import policy
from sanctions.assessment import VIOLATIONS
from sanctions.models import SANCTIONS, MonthlyAssessment, Sanction, SanctionStatus
from supervision.models import Supervisee

NOT_HELD = ("false_alarm", "excused", "withdrawn")
DAY = timedelta(days=1)


def _held_alerts(db, sid: int, since: datetime) -> list[tuple[int, str, datetime]]:
    """(id, kind, occurred_at) of the supervisee's alerts since ``since`` that still count."""
    return list(db.execute(select(Alert.id, Alert.kind, Alert.occurred_at).where(
        Alert.supervisee_id == sid, Alert.occurred_at >= since,
        Alert.resolution.is_(None) | Alert.resolution.notin_(NOT_HELD)).order_by(Alert.id)))


def _ledger(db, sid: int, since: datetime) -> list[tuple[int, str]]:
    return list(db.execute(select(CheckinLedgerEntry.id, CheckinLedgerEntry.kind).where(
        CheckinLedgerEntry.supervisee_id == sid, CheckinLedgerEntry.created_at >= since,
        CheckinLedgerEntry.decision.is_distinct_from("overturned")).order_by(CheckinLedgerEntry.id)))


def count_factors(db, sup: Supervisee, now: datetime) -> dict[str, Counted]:
    """Every factor's value and evidence for one supervisee at ``now`` (three queries)."""
    alerts = [(i, k, t) for i, k, t in _held_alerts(db, sup.id, now - 180 * DAY) if t <= now]
    ledger = _ledger(db, sup.id, now - 90 * DAY)

    def pick(kinds, days_from=0, days_to=180) -> Counted:
        lo, hi = now - days_to * DAY, now - days_from * DAY
        ids = [i for i, k, t in alerts if k in kinds and lo <= t and (days_from == 0 or t < hi)]
        return Counted(float(len(ids)), {"alerts": ids})

    def entries(kind) -> Counted:
        ids = [i for i, k in ledger if k == kind]
        return Counted(float(len(ids)), {"ledger": ids})

    term_start = datetime(sup.term_start.year, sup.term_start.month, sup.term_start.day, tzinfo=LOCAL_TZ)
    sanctions = list(db.scalars(select(Sanction.id).where(
        Sanction.supervisee_id == sup.id, Sanction.status == SanctionStatus.imposed, Sanction.kind.in_(SANCTIONS),
        Sanction.decided_at >= term_start).order_by(Sanction.id)))
    months = months_between(sup.term_start, now.astimezone(LOCAL_TZ).date())
    return {
        "violations_recent": pick(VIOLATIONS, 0, 30),
        "violations_older": pick(VIOLATIONS, 30, 180),
        "exclusion_zone": pick({AlertKind.entered_exclusion_zone}, 0, 180),
        "missed_checkins": entries("missed"),
        "failed_checkins": entries("failed"),
        "signal_loss": pick({AlertKind.signal_lost}, 0, 90),
        "integrity": pick({AlertKind.integrity}, 0, 90),
        "night_outings": pick({AlertKind.curfew_breach}, 0, 90),
        "sanctions": Counted(float(len(sanctions)), {"sanctions": sanctions}),
        "new_intake": Counted(float(max(0, 6 - months)), {"term_start": sup.term_start.isoformat(),
                                                           "months_since_intake": months}),
    }


def store_assessment(db, sup: Supervisee, now: datetime, weights: dict[str, float]) -> RiskAssessment | None:
    """Today's assessment (None if this day's is already stored: one per supervisee and local day)."""
    total, factors = score(count_factors(db, sup, now), weights)
    new_id = db.scalar(insert(RiskAssessment).values(
        supervisee_id=sup.id, office_id=sup.office_id, computed_on=now.astimezone(LOCAL_TZ).date(), computed_at=now,
        score=total).on_conflict_do_nothing(constraint="risk_assessments_daily").returning(RiskAssessment.id))
    if new_id is None:
        return None
    db.add_all(RiskFactor(assessment_id=new_id, name=f.name, weight=f.weight, value=f.value, points=f.points,
                          evidence=f.evidence) for f in factors)
    db.flush()
    return db.get(RiskAssessment, new_id)


def tier_since(db, sup: Supervisee) -> date:
    """When the current tier began: the last confirmed tier move or the last check-in plan made for
    another tier ending (a tier changed by hand), whichever is later; else the start of the term."""
    moved = db.scalar(select(func.max(TierProposal.decided_at)).where(
        TierProposal.supervisee_id == sup.id, TierProposal.status == "confirmed"))
    replanned = db.scalar(select(func.max(CheckinPlan.valid_to)).where(
        CheckinPlan.supervisee_id == sup.id, CheckinPlan.tier != sup.tier))
    days = [at.astimezone(LOCAL_TZ).date() for at in (moved, replanned) if at is not None]
    return max([sup.term_start, *days])


def tier_record(db, sup: Supervisee, now: datetime, risk: RiskAssessment | None) -> TierRecord:
    today = now.astimezone(LOCAL_TZ).date()
    since = tier_since(db, sup)
    since_at = datetime(since.year, since.month, since.day, tzinfo=LOCAL_TZ)
    records = list(db.execute(select(Sanction.id, Sanction.kind).where(
        Sanction.supervisee_id == sup.id, Sanction.status == SanctionStatus.imposed, Sanction.decided_at >= since_at)
        .order_by(Sanction.decided_at.desc(), Sanction.id.desc())))
    first_of_month = today.replace(day=1)
    quarter_start = date(first_of_month.year - (first_of_month.month <= 3), (first_of_month.month - 4) % 12 + 1, 1)
    confirmed = list(db.execute(select(MonthlyAssessment.id, MonthlyAssessment.month, MonthlyAssessment.score,
                                       MonthlyAssessment.grade).where(
        MonthlyAssessment.supervisee_id == sup.id, MonthlyAssessment.confirmed_at.is_not(None),
        MonthlyAssessment.month >= since.replace(day=1)).order_by(MonthlyAssessment.month)))
    return TierRecord(
        tier=sup.tier, today=today, term_start=sup.term_start, tier_since=since,
        risk_score=risk.score if risk else None, risk_id=risk.id if risk else None,
        admonitions=[i for i, k in records if k == "admonition"],
        warnings=[i for i, k in records if k in ("warning", "police_penalty_proposal")],
        failed_assessments=[i for i, _, _, g in confirmed if g == "fail"],
        quarter_scores=[(i, s) for i, m, s, _ in confirmed if quarter_start <= m < first_of_month],
        latest_records=[(i, k) for i, k in records])


def run_risk(job: JobContext) -> dict[str, int]:
    """One daily round: {"assessed": n, "proposals": m}."""
    weights = weights_from(job.settings.risk)
    rules = TierRules.from_settings(job.settings.risk)
    assessed = proposals = 0
    for sup in list(job.db.scalars(select(Supervisee).where(Supervisee.status == "active").order_by(Supervisee.id))):
        risk = store_assessment(job.db, sup, job.now, weights)
        if risk is None:
            continue
        assessed += 1
        move = propose_tier(rules, tier_record(job.db, sup, job.now, risk))
        if move is None:
            continue
        # Conflicts: the same step proposed before (decided or not), or another proposal still open.
        new_id = job.db.scalar(insert(TierProposal).values(
            supervisee_id=sup.id, office_id=sup.office_id, from_tier=sup.tier, to_tier=move.to_tier,
            reasons=move.reasons, rule_key=move.rule_key, risk_assessment_id=risk.id, status="proposed",
            proposed_at=job.now, required_level=policy.level_for(job.db, sup.office_id, "tier"),
        ).on_conflict_do_nothing().returning(TierProposal.id))
        if new_id is not None:
            proposals += 1
            job.record("tier.propose", "tier_proposal", new_id, detail={
                "supervisee_id": sup.id, "from": sup.tier, "to": move.to_tier,
                "rules": [x["rule"] for x in move.reasons], "risk_assessment_id": risk.id})
            apply_facts(job.db, Subject(sup.id, sup.office_id, sup.tier),
                        [ProposalMade("tier", new_id, f"{sup.tier} → {move.to_tier}")],
                        now=job.now, cfg=job.settings.alerts)
    return {"assessed": assessed, "proposals": proposals}
