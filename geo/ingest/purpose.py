"""The legal basis of every stored fix, decided at the fix's own time (Law art. 29).

Electronic positioning is lawful only under an order (five grounds, approved
by the bureau head, at most three months at a time). So:

- a tracker or wristband exists only for positioning: a fix inside an order's
  window is kept under ``order:<id>``; outside every window it is refused;
- a phone the office marks ``positioning_grade`` is positioning data under an
  order, and ordinary 信息化核查 data outside one ("its other purpose");
- an ordinary phone, a check-in and an officer's import are 信息化核查 data.

Windows are [starts_at, ends_at): a fix at the instant of lapse is outside.
Geo never imports orders: the windows come from geo's own
``positioning_windows`` table, which the orders service keeps in step.
Plain values only, so the rule is testable without a database.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.basis import ORDINARY  # the ordinary check, not an art. 29 order (one spelling, in core)
from supervision.models import POSITIONING_KINDS

__all__ = ["ORDINARY", "Window", "needs_order", "order_purpose", "purpose_at", "refusal_message"]

ORDER_PREFIX = "order:"


@dataclass(frozen=True, slots=True)
class Window:
    order_id: int
    starts_at: datetime
    ends_at: datetime

    def covers(self, t: datetime) -> bool:
        return self.starts_at <= t < self.ends_at


def order_purpose(order_id: int) -> str:
    return f"{ORDER_PREFIX}{order_id}"


def needs_order(kind: str, positioning_grade: bool) -> bool:
    """Whether fixes of this device can be positioning data at all (and so need the windows)."""
    return kind in POSITIONING_KINDS or positioning_grade


def purpose_at(t: datetime, windows: Sequence[Window], *, kind: str, positioning_grade: bool) -> str | None:
    """The purpose a fix at ``t`` is stored under, or None when it must be refused."""
    if not needs_order(kind, positioning_grade):
        return ORDINARY
    for w in windows:
        if w.covers(t):
            return order_purpose(w.order_id)
    return None if kind in POSITIONING_KINDS else ORDINARY


def refusal_message(t: datetime, kind: str) -> str:
    """Why a positioning device's fix was not stored."""
    return (f"no electronic-positioning order in force at {t.isoformat()} (Law art. 29): "
            f"fixes of a {kind} are stored only while an approved order is in force")
