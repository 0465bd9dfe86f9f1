"""End of term: what cameras keep and delete of a supervisee (core.retention).

Camera rows hold no personal data. The frames grabbed for a person's alerts
(``camera_snapshots`` and their media files) are operational data: deleted
for the person at the purge, rows and files alike; the audit trail keeps that
they existed.
"""
from __future__ import annotations

from sqlalchemy import delete, func, select, update

from cameras.models import CameraSnapshot
from core.context import Ctx
from core.media import Media
from core.media import files
from core.retention import Retention


def purge_snapshots(ctx: Ctx, supervisee_id: int) -> dict[str, int]:
    """Delete the person's camera snapshots and their frames; counts per table."""
    media_ids = [m for ids in ctx.db.scalars(select(CameraSnapshot.media_ids)
                                             .where(CameraSnapshot.supervisee_id == supervisee_id)) for m in ids]
    removed = ctx.db.execute(delete(CameraSnapshot).where(CameraSnapshot.supervisee_id == supervisee_id)).rowcount
    names = []
    if media_ids:
        names = list(ctx.db.scalars(update(Media).where(Media.id.in_(media_ids), Media.purged_at.is_(None))
                                    .values(purged_at=func.now()).returning(Media.file_name)))
        # Deleted now, not after commit: erring toward deletion is the point (core.media.store.purge).
        for name in names:
            files.remove(ctx.settings.media.media_dir, name)
    ctx.record("camera_snapshots.purge", "supervisee", supervisee_id,
               detail={"snapshots": removed or 0, "media": len(names)})
    return {"camera_snapshots": removed or 0, "media": len(names)}


RETENTION = Retention(package="cameras", operational=("camera_snapshots",), purge=purge_snapshots)
