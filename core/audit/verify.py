"""Verify the audit trail as stored: the hash chain in ``audit_log`` and the
signed checkpoints in the file outside the database.

The decisions are made by :class:`core.audit.chain.ChainVerifier`; this module
only feeds it rows from the database (streamed with a server-side cursor, so
memory stays flat on a chain of millions of rows) and the checkpoints from
the file, and resolves a ``--from/--to`` range given as seq or time.

Call it in one REPEATABLE READ snapshot (the CLI does) and read the
checkpoint file *before* the first query: every checkpoint then names a row
committed before the snapshot began, so a chain that grows while it is
verified never looks truncated.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditEntry
from core.audit.chain import CONTENT_FIELDS, GENESIS, ChainVerifier, Problem, VerifyResult
from core.audit.checkpoints import Checkpoint, CheckpointError, read_checkpoints

BATCH_ROWS = 2000
ROW_BEFORE_MISSING = "row_before_missing"  # --from: the row whose hash starts the range is gone
_COLUMNS = [getattr(AuditEntry, name) for name in (*CONTENT_FIELDS, "hash")]

Bound = int | datetime


@dataclass(frozen=True)
class AuditVerification:
    """The chain's verdict, plus what was wrong with the checkpoint file, if anything."""

    chain: VerifyResult
    checkpoints: list[Checkpoint] = field(default_factory=list)
    checkpoint_error: str | None = None
    from_seq: int = 1
    to_seq: int | None = None

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.checkpoint_error is None

    def checkpoint_at(self, seq: int | None) -> tuple[int, Checkpoint] | None:
        """The (1-based line number, checkpoint) of the first checkpoint of ``seq``."""
        for line_no, cp in enumerate(self.checkpoints, start=1):
            if cp.seq == seq:
                return line_no, cp
        return None


def load_checkpoints(path: str | os.PathLike, key: bytes, *, required: bool) -> tuple[list[Checkpoint], str | None]:
    """The verified checkpoints, or an error message saying why they cannot be trusted."""
    try:
        return read_checkpoints(path, key), None
    except FileNotFoundError:
        if not required:
            return [], None
        # Without the file a dropped tail is undetectable: say so, do not pass silently.
        return [], f"checkpoint file {path} not found: a truncated tail cannot be detected"
    except CheckpointError as exc:
        return [], f"checkpoint file {path}: {exc}"


def resolve_from(db: Session, bound: Bound | None) -> int:
    """A lower bound as a seq: a time means the first row written at or after it."""
    if bound is None:
        return 1
    if isinstance(bound, int):
        return max(bound, 1)
    # ``at`` follows seq (both taken under the chain lock), so a time maps to a seq.
    # An empty range resolves past the head, and verifies zero rows.
    found = db.scalar(select(func.min(AuditEntry.seq)).where(AuditEntry.at >= bound))
    return found if found is not None else (db.scalar(select(func.max(AuditEntry.seq))) or 0) + 1


def resolve_to(db: Session, bound: Bound | None) -> int | None:
    """An upper bound as a seq: a time means the last row written at or before it."""
    if bound is None or isinstance(bound, int):
        return bound
    return db.scalar(select(func.max(AuditEntry.seq)).where(AuditEntry.at <= bound)) or 0


def stream_rows(db: Session, *, from_seq: int, to_seq: int | None, batch: int = BATCH_ROWS) -> Iterator[dict[str, Any]]:
    """Rows in seq order through a server-side cursor, ``batch`` rows per round trip."""
    stmt = select(*_COLUMNS).order_by(AuditEntry.seq)
    # From the start, no lower bound: a forged row with seq <= 0 must be seen too.
    if from_seq > 1:
        stmt = stmt.where(AuditEntry.seq >= from_seq)
    if to_seq is not None:
        stmt = stmt.where(AuditEntry.seq <= to_seq)
    result = db.execute(stmt, execution_options={"stream_results": True, "yield_per": batch})
    try:
        for row in result.mappings():
            yield dict(row)
    finally:
        result.close()


def _missing_start(from_seq: int) -> VerifyResult:
    problem = Problem(ROW_BEFORE_MISSING, -1, from_seq - 1,
                      f"row {from_seq - 1}, whose hash starts the range, is missing (deleted?)")
    return VerifyResult(ok=False, rows_checked=0, last_seq=None, last_hash=None, problem=problem)


def verify_audit_log(
    db: Session,
    *,
    key: bytes,
    checkpoint_path: str | os.PathLike | None,
    from_: Bound | None = None,
    to: Bound | None = None,
    require_checkpoints: bool = True,
    batch: int = BATCH_ROWS,
) -> AuditVerification:
    """Verify rows ``[from_, to]`` (seq or time; default all) against the key and the checkpoints."""
    checkpoints: list[Checkpoint] = []
    cp_error = None
    if checkpoint_path is not None:
        checkpoints, cp_error = load_checkpoints(checkpoint_path, key, required=require_checkpoints)
    from_seq, to_seq = resolve_from(db, from_), resolve_to(db, to)
    start_prev = GENESIS
    if from_seq > 1:
        # The range links to the chain through the stored hash of the row before.
        # That hash is not trusted blindly: a checkpoint on it is compared by
        # ChainVerifier, and a wrong one breaks the link of row from_seq.
        before = db.scalar(select(AuditEntry.hash).where(AuditEntry.seq == from_seq - 1))
        if before is None:
            return AuditVerification(_missing_start(from_seq), checkpoints, cp_error, from_seq, to_seq)
        start_prev = before
    verifier = ChainVerifier(key, start_prev_hash=start_prev, expected_first_seq=from_seq, to_seq=to_seq,
                             checkpoints=checkpoints)
    if verifier.problem is None:
        for row in stream_rows(db, from_seq=from_seq, to_seq=to_seq, batch=batch):
            if not verifier.feed(row):
                break
    return AuditVerification(verifier.finish(), checkpoints, cp_error, from_seq, to_seq)
