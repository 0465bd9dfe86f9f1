"""The checkpoint job: sign the audit chain's head into the file outside the database.

Deleting the newest audit rows leaves a shorter chain that verifies; only a
checkpoint of the head, kept where the database user cannot write, shows the
rows were there. So the head is checkpointed every minute, when it moved
(the job in ``JOBS`` runs :func:`write_checkpoint`; ``zhijiao audit checkpoint`` runs it
by hand): at most a minute of the newest rows can be dropped unnoticed.

The job runner runs it in one process at a time; should two ever race, both append
the same head, which the file accepts and the verifier does not mind.
"""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import AuditEntry
from core.jobs import Job, JobContext
from core.audit.checkpoints import Checkpoint, CheckpointError, _last_line, append_checkpoint


def _last_checkpointed(path: Path) -> tuple[int, str] | None:
    """(seq, hash) of the file's last line, read from the end (the file grows by a line a minute).

    Unverified on purpose: this only decides whether to write. append_checkpoint
    verifies the last line's signature before chaining onto it, and
    ``zhijiao audit verify`` checks the whole file.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        # core.audit.checkpoints' own tail reader, so incomplete last lines are judged alike.
        raw = _last_line(fd)
    finally:
        os.close(fd)
    if raw is None:
        return None
    try:
        obj = json.loads(raw.decode("utf-8"))
        seq, hash_ = obj["seq"], obj["hash"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(None, "last line is not a checkpoint") from exc
    if not isinstance(seq, int) or not isinstance(hash_, str):
        raise CheckpointError(None, "last line is not a checkpoint")
    return seq, hash_


def write_checkpoint(db: Session, *, path: str | os.PathLike, key: bytes, now: datetime) -> Checkpoint | None:
    """Append a signed checkpoint of the committed chain head, unless the file already has it.

    Returns the new checkpoint, or None when the chain is empty or the head did
    not move. Raises CheckpointError when the head is *behind* the file (rows
    were removed) or the file's last line is damaged: both are tampering and
    must be loud, not skipped.
    """
    head = db.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    if head is None:
        return None
    seq, hash_ = head
    path = Path(path)
    if _last_checkpointed(path) == (seq, hash_):
        return None
    # Raises when seq went backwards, or the same seq now has another hash
    # (the chain was rewritten since): both are reported, never skipped.
    return append_checkpoint(path, key, seq, hash_, now)


def checkpoint_head(job: JobContext) -> Checkpoint | None:
    """The periodic job: checkpoint the head into the configured file."""
    cfg = job.settings.audit
    return write_checkpoint(job.db, path=cfg.audit_checkpoint_path, key=cfg.audit_key.encode(), now=job.now)


JOBS: tuple[Job, ...] = (
    Job("audit_checkpoint", checkpoint_head, lambda s: s.audit.audit_checkpoint_seconds),
)
