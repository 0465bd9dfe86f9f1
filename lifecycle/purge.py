"""The purge of one person's operational data, composed from every package's RETENTION.

The composition root passes the retentions in (api.app.RETENTIONS, in FK
order: packages whose rows point at another's come first). Each package's
function deletes or clears its own rows; here the counts are gathered with
the time span of what went (per table with a supervisee column and a time
column, measured before deleting), and written as an audited purge record.
Nothing here touches the audit chain: ``audit_log`` is the trail of the
supervision, not its content.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text

from core.context import Ctx
from core.retention import Retention
from lifecycle.models import LegalHold, PurgeRecord

# The time column that dates a row, by preference.
_TIME_COLUMNS = ("t", "submitted_at", "opened_at", "enrolled_at", "issued_at", "created_at", "added_at", "updated_at")

RETENTION = Retention(
    package="lifecycle",
    legal_file=("supervision_releases", "legal_holds", "purge_records", "term_reminders"),
)


def active_hold(ctx: Ctx, supervisee_id: int) -> LegalHold | None:
    return ctx.db.scalar(select(LegalHold).where(LegalHold.supervisee_id == supervisee_id,
                                                 LegalHold.lifted_at.is_(None)).order_by(LegalHold.id).limit(1))


def _time_ranges(ctx: Ctx, tables: Sequence[str], supervisee_id: int) -> dict[str, list[str | None]]:
    """[first, last] row time of each table that has a supervisee column and a time column."""
    columns = ctx.db.execute(text(
        "SELECT table_name, array_agg(column_name::text) FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ANY(:t) GROUP BY table_name"),
        {"t": list(tables)}).all()
    ranges = {}
    for table, names in columns:
        when = next((c for c in _TIME_COLUMNS if c in names), None)
        if "supervisee_id" not in names or when is None:
            continue
        first, last = ctx.db.execute(text(
            f'SELECT min("{when}"), max("{when}") FROM "{table}" WHERE supervisee_id = :s'),  # names from the schema
            {"s": supervisee_id}).one()
        if first is not None:
            ranges[table] = [first.isoformat(), last.isoformat()]
    return ranges


def purge_supervisee(ctx: Ctx, supervisee_id: int, *, retentions: Sequence[Retention], now: datetime) -> PurgeRecord:
    """Run every package's purge for the person; record and audit the counts (no content)."""
    operational = [t for r in retentions for t in r.operational]
    ranges = _time_ranges(ctx, operational, supervisee_id)
    counts: dict[str, int] = {}
    for retention in retentions:
        if retention.purge is not None:
            for table, n in retention.purge(ctx, supervisee_id).items():
                counts[table] = counts.get(table, 0) + n
    record = PurgeRecord(supervisee_id=supervisee_id, purged_at=now, counts=counts, time_ranges=ranges)
    ctx.db.add(record)
    ctx.db.flush()
    ctx.record("supervisee.purge", "supervisee", supervisee_id,
               detail={"purge_record_id": record.id, "counts": counts, "time_ranges": ranges})
    return record
