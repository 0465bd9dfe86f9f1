"""The encrypted media store: photos and snapshots, encrypted at rest, every read audited.

A file is written under a random name in ``ZHIJIAO_MEDIA_DIR`` and its row
inserted in the caller's transaction; nothing here commits. If that
transaction rolls back, the file stays behind with no row: the media sweep
(``core/media/scheduled.py``) deletes such orphans once they are older than
``ZHIJIAO_MEDIA_ORPHAN_GRACE_MINUTES`` (long enough that no transaction that
wrote one can still be open).

The AES-GCM associated data names the row (id, kind, key id), so a file moved
under another row's name does not decrypt.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.media import files
from core.media.keys import NONCE_BYTES, Keyring, MediaIntegrityError, keyring
from core.media.models import Media
from core.settings import MediaSettings, Settings, get_settings


class Recorder(Protocol):
    """What reads and purges need of their caller: a request's Ctx or a job's JobContext."""

    settings: Settings

    def record(self, action: str, object_type: str | None = None, object_id: object = None, *,
               outcome: str = "ok", detail: dict[str, Any] | None = None) -> None: ...


@dataclass(frozen=True)
class MediaBlob:
    data: bytes
    content_type: str


def _aad(row: Media) -> bytes:
    return f"zhijiao-media:{row.id}:{row.kind}:{row.key_id}".encode()


def _media_settings(settings: Settings | None) -> MediaSettings:
    return (settings or get_settings()).media


def store(session: Session, *, data: bytes, content_type: str, kind: str, purpose: str,
          supervisee_id: int | None, settings: Settings | None = None) -> int:
    """Encrypt ``data`` to a new file and insert its row (uncommitted); return the media id."""
    config = _media_settings(settings)
    ring: Keyring = keyring(config)
    row = Media(kind=kind, content_type=content_type, file_name=files.new_name(), key_id=ring.current,
                nonce=os.urandom(NONCE_BYTES), sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                supervisee_id=supervisee_id, purpose=purpose)
    session.add(row)
    session.flush()  # the id goes into the associated data
    # Written after the row is in place: a failed write fails the caller's transaction.
    files.write(config.media_dir, row.file_name, ring.encrypt(row.nonce, data, _aad(row)))
    return row.id


def read(session: Session, media_id: int, *, purpose: str, ctx: Recorder) -> MediaBlob:
    """Decrypt one file, audited as ``media.read`` with the reader's purpose.

    The caller has already checked that its principal may see this supervisee's
    media (office scope); this layer knows nothing of jurisdictions.

    A purged or unknown id is ``NotFound`` (audited too). The plaintext hash is
    checked, so a file that decrypts but is not the one stored is refused.
    """
    row = session.scalar(select(Media).where(Media.id == media_id, Media.purged_at.is_(None)))
    if row is None:
        ctx.record("media.read", "media", media_id, outcome="not_found", detail={"purpose": purpose})
        raise NotFound()
    config = ctx.settings.media
    try:
        sealed = files.read(config.media_dir, row.file_name)
    except FileNotFoundError:
        raise MediaIntegrityError(f"media {row.id}: its file is missing") from None
    data = keyring(config).decrypt(row.key_id, row.nonce, sealed, _aad(row))
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise MediaIntegrityError(f"media {row.id}: content does not match its recorded hash")
    ctx.record("media.read", "media", row.id,
               detail={"purpose": purpose, "kind": row.kind, "supervisee_id": row.supervisee_id})
    return MediaBlob(data=data, content_type=row.content_type)


def purge(session: Session, *, supervisee_id: int, ctx: Recorder) -> int:
    """Delete every file of one supervisee and mark the rows purged (end of term); audited.

    Files are deleted at once, not after commit: if the transaction then rolls
    back, the rows stay unpurged but their data is gone (reads fail as
    integrity errors) and purging again completes the job; erring toward
    deletion is the point of a purge. The sweep also deletes any file whose row
    is marked purged.
    """
    rows = session.execute(
        select(Media.id, Media.file_name)
        .where(Media.supervisee_id == supervisee_id, Media.purged_at.is_(None))
        .with_for_update()
    ).all()
    if not rows:
        return 0
    session.execute(update(Media).where(Media.id.in_([r.id for r in rows])).values(purged_at=func.now()))
    ctx.record("media.purge", "supervisee", supervisee_id,
               detail={"count": len(rows), "media_ids": [r.id for r in rows]})
    for row in rows:
        files.remove(ctx.settings.media.media_dir, row.file_name)
    return len(rows)
