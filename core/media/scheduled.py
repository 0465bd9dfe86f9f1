"""The media sweep: delete files that have no live row.

Two kinds: files whose transaction rolled back (no row at all; deleted once
older than the grace period, so an open transaction's file is never taken),
and files of rows marked purged (deleted at once; purge normally did it).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.jobs import Job, JobContext
from core.media import files
from core.media.models import Media

_BATCH = 1000


def sweep_media(job: JobContext) -> int:
    """One round of the sweep; returns the number of files deleted."""
    config = job.settings.media
    cutoff = (job.now - timedelta(minutes=config.media_orphan_grace_minutes)).timestamp()
    found = list(files.listing(config.media_dir))
    deleted = 0
    for start in range(0, len(found), _BATCH):
        batch = found[start:start + _BATCH]
        live = set(job.db.scalars(select(Media.file_name).where(
            Media.file_name.in_([name for name, _ in batch]), Media.purged_at.is_(None))))
        purged = set(job.db.scalars(select(Media.file_name).where(
            Media.file_name.in_([name for name, _ in batch]), Media.purged_at.is_not(None))))
        for name, path in batch:
            if name in live and path.suffix != files.TMP_SUFFIX:
                continue
            if name in purged or _older_than(path, cutoff):
                path.unlink(missing_ok=True)
                deleted += 1
    if deleted:
        job.record("media.sweep", "media", None, detail={"deleted": deleted})
    return deleted


def _older_than(path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False


JOBS: tuple[Job, ...] = (Job("media_sweep", sweep_media, lambda s: s.media.media_sweep_seconds),)
