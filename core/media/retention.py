"""What the media store deletes at a supervisee's purge: every file (gone from disk) and its row (core.retention).

Photos and frames are operational personal data (biometric, PIPL art. 28);
``media.store.purge`` deletes the files at once and audits it, then the rows
themselves go (their names, sizes and hashes describe content that no longer
exists).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete

from core.media.models import Media
from core.media.store import purge as purge_files
from core.retention import Retention

if TYPE_CHECKING:
    from core.context import Ctx


def purge_media(ctx: "Ctx", supervisee_id: int) -> dict[str, int]:
    """Delete the person's media files and rows; {"media": rows}."""
    purge_files(ctx.db, supervisee_id=supervisee_id, ctx=ctx)
    return {"media": ctx.db.execute(delete(Media).where(Media.supervisee_id == supervisee_id)).rowcount}


RETENTION = Retention(package="core.media", operational=("media",), purge=purge_media)
