"""The legal basis of every read of location data, written into its audit row.

Law art. 29 limits positioning data to community-corrections work and PIPL
asks why sensitive data is processed, so each read of location data (a
track, the map of last positions, an alert's evidence, a check-in's place)
records the bases of what it returned: ``order:<id>`` for data collected
under an electronic-positioning order, 信息化核查 for the ordinary check.
Every reader calls ``record_location_read``: one place, one key
(``basis``), so an auditor can ask "who read data held under order 12".

Here in core, below every package: the readers live in geo, alerts and
checkins, and alerts may not import geo. ``fix_purposes`` therefore reads
the purpose column of geo's ``fixes`` table by name.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import Ctx

ORDINARY = "信息化核查"  # the same word as geo.ingest.purpose.ORDINARY (core imports nothing of ours)


def record_location_read(ctx: Ctx, action: str, object_type: str | None, object_id: object, *,
                         purposes: Iterable[str | None], detail: dict[str, Any] | None = None) -> list[str]:
    """Audit a read of location data with the distinct legal bases it returned (sorted); returns them."""
    basis = sorted({p for p in purposes if p})
    ctx.record(action, object_type, object_id, detail={**(detail or {}), "basis": basis})
    return basis


def fix_purposes(db: Session, fix_ids: Sequence[int]) -> list[str]:
    """The distinct purposes of stored fixes (evidence that points at fixes)."""
    ids = sorted({int(i) for i in fix_ids if i is not None})
    if not ids:
        return []
    return list(db.scalars(text("SELECT DISTINCT purpose FROM fixes WHERE id = ANY(:ids)"), {"ids": ids}))
