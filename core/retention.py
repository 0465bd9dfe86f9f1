"""What each package keeps and what it deletes when a supervisee's data is purged.

The law (Community Corrections Law art. 44; PIPL art. 19, 47) splits a
supervisee's data in two at the end of term: the *legal file* (identity,
orders, decisions, sanctions, assessments, leave approvals, the release
record) is kept; the *operational* personal data collected to supervise them
(fixes, episode detail, photos, face templates, camera frames, exact leave
destinations) is deleted once the retention period has passed.

Each package that owns tables referring to a supervisee declares one
``Retention`` in its ``purge.py``: which of its tables are legal file, which
are operational, and a function that deletes its operational rows (and media)
for one person. The composition root (``api.app.RETENTIONS``) lists them; the
purge job composes them; a test scans the schema for every table that refers
to a supervisee and fails if one is declared by nobody, so a new table cannot
escape the purge by being forgotten. Nothing here touches the audit chain:
``audit_log`` is neither legal file nor operational, it is the trail itself.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.context import Ctx

# purge(ctx, supervisee_id) -> {table: rows deleted (or scrubbed)}; counts only, never content.
PurgeFunction = Callable[["Ctx", int], dict[str, int]]


@dataclass(frozen=True)
class Retention:
    """One package's answer to "what happens to this person's rows at the purge"."""

    package: str
    # Tables kept whole: the legal file.
    legal_file: tuple[str, ...] = ()
    # Tables whose rows for the person are deleted by ``purge``.
    operational: tuple[str, ...] = ()
    # Tables kept as legal file but with named columns cleared by ``purge``
    # (a leave request is kept, its exact destination point is not).
    scrubbed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    purge: PurgeFunction | None = None

    def tables(self) -> set[str]:
        return {*self.legal_file, *self.operational, *self.scrubbed}


def declared_tables(retentions: Iterable[Retention]) -> dict[str, str]:
    """Every declared table -> the package that declares it; a table declared twice is an error."""
    owner: dict[str, str] = {}
    for retention in retentions:
        for table in retention.tables():
            if table in owner:
                raise ValueError(f"table {table} is declared by both {owner[table]} and {retention.package}")
            owner[table] = retention.package
    return owner
