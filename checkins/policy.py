"""The check-in rules in force for an office: settings, overridden down the jurisdiction tree.

Field by field the nearest jurisdiction that sets a value wins (the office,
then its bureau), then the settings (``ZHIJIAO_CHECKIN_*``). ``plan`` chooses
between plans by tier and the office's "fixed daily windows" plan. Only
managers write policies, so an office cannot loosen its own.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from checkins.models import CheckinPolicy
from checkins.plans import PlanKind, PlanRule, Window, plan_rule
from core.context import Ctx
from core.errors import Invalid
from core.settings import CheckinSettings
from supervision.jurisdictions import ancestor_chain
from supervision.jurisdictions import get_scoped as scoped_jurisdiction
from supervision.models import Role
from supervision.scope import require_role

FIELDS = ("plan", "daily_window", "report_window", "report_weekday", "fixed_windows", "spot_per_week",
          "spot_answer_minutes")


@dataclass(frozen=True)
class EffectivePolicy:
    plan: str  # "tier" | "fixed_windows"
    daily_window: str
    report_window: str
    report_weekday: int
    fixed_windows: list[str]
    spot_per_week: int | None  # None: the tier's setting
    spot_answer_minutes: int

    def rule(self, tier: str, cfg: CheckinSettings) -> PlanRule:
        """The plan rule for a supervisee of ``tier`` under this policy."""
        kind = PlanKind.fixed_windows if self.plan == "fixed_windows" else PlanKind(tier)
        spots = self.spot_per_week
        if spots is None:
            spots = getattr(cfg, f"checkin_spot_per_week_{tier}")
        return plan_rule(kind, daily_window=self.daily_window, report_window=self.report_window,
                         report_weekday=self.report_weekday, fixed_windows=self.fixed_windows,
                         spot_per_week=spots, waking_hours=cfg.checkin_waking_hours,
                         spot_minutes=self.spot_answer_minutes)


def inherit(rows: dict[int, CheckinPolicy], chain: list[int], cfg: CheckinSettings) -> EffectivePolicy:
    """Field by field the first of ``chain`` (nearest first) whose row sets it, else the settings."""
    values = dict(plan="tier", daily_window=cfg.checkin_daily_window, report_window=cfg.checkin_report_window,
                  report_weekday=cfg.checkin_report_weekday, fixed_windows=list(cfg.checkin_fixed_windows),
                  spot_per_week=None, spot_answer_minutes=cfg.checkin_spot_answer_minutes)
    for name in FIELDS:
        for jid in chain:
            row = rows.get(jid)
            if row is not None and getattr(row, name) is not None:
                values[name] = getattr(row, name)
                break
    return EffectivePolicy(**values)


def effective_policy(db: Session, office_id: int, cfg: CheckinSettings) -> EffectivePolicy:
    chain = ancestor_chain(db, office_id)
    rows = {p.jurisdiction_id: p for p in db.scalars(select(CheckinPolicy).where(
        CheckinPolicy.jurisdiction_id.in_(chain)))}
    return inherit(rows, chain, cfg)


def _check_values(values: dict) -> None:
    for name in ("daily_window", "report_window"):
        if values.get(name) is not None:
            _window(values[name], name)
    for i, w in enumerate(values.get("fixed_windows") or ()):
        _window(w, f"fixed_windows[{i}]")
    if values.get("plan") == "fixed_windows" and values.get("fixed_windows") == []:
        raise Invalid("a fixed-windows plan needs at least one window", field="fixed_windows")


def _window(text: str, field: str) -> Window:
    try:
        w = Window.parse(text)
    except ValueError:
        raise Invalid(f"{field} must be HH:MM-HH:MM (local time)", field=field) from None
    if w.start == w.end:
        raise Invalid(f"{field} is empty", field=field)
    return w


def get_policy(*, ctx: Ctx, jurisdiction_id: int) -> dict:
    require_role(ctx.principal, {Role.officer, Role.manager, Role.auditor}, "read check-in policies")
    scoped_jurisdiction(ctx, jurisdiction_id)
    own = ctx.db.get(CheckinPolicy, jurisdiction_id)
    ctx.record("checkin_policy.read", "jurisdiction", jurisdiction_id)
    return {"jurisdiction_id": jurisdiction_id,
            "effective": asdict(effective_policy(ctx.db, jurisdiction_id, ctx.settings.checkins)),
            "own": {n: getattr(own, n) for n in FIELDS} if own else {}}


def set_policy(*, ctx: Ctx, jurisdiction_id: int, values: dict) -> dict:
    """Replace a jurisdiction's own rules (None = inherit). Plans pick them up from their next re-plan."""
    require_role(ctx.principal, {Role.manager}, "change check-in policies")
    scoped_jurisdiction(ctx, jurisdiction_id)
    _check_values(values)
    row = ctx.db.get(CheckinPolicy, jurisdiction_id) or CheckinPolicy(jurisdiction_id=jurisdiction_id)
    ctx.db.add(row)
    for name in FIELDS:
        setattr(row, name, values.get(name))
    row.updated_by, row.updated_at = ctx.principal.user_id, ctx.clock.now()
    ctx.db.flush()
    ctx.record("checkin_policy.set", "jurisdiction", jurisdiction_id, detail={n: values.get(n) for n in FIELDS})
    return get_policy(ctx=ctx, jurisdiction_id=jurisdiction_id)
