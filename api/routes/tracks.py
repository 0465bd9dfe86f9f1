"""REST route for reading a supervisee's track. Thin: parse, call geo.fixes_read, answer."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from api.deps import CtxDep
from core.schemas import Id
from geo.fixes_read import MAX_LIMIT, TrackOut, read_track

router = APIRouter(tags=["tracks"])
_RESPONSES = {
    403: {"description": "Your role may not read tracks (administrators hold no location data)"},
    404: {"description": "Not found, or outside your jurisdiction (indistinguishable)"},
    503: {"description": "The audit trail could not be written, so nothing is returned"},
}


@router.get("/supervisees/{supervisee_id}/fixes", response_model=TrackOut, responses=_RESPONSES)
def get_fixes(supervisee_id: Id, ctx: CtxDep,
              since: datetime | None = Query(None, description="t >= since (default: until - 24 h); with offset"),
              until: datetime | None = Query(None, description="t < until (default: now); with offset"),
              limit: int = Query(1000, ge=1, le=MAX_LIMIT, description="most fixes returned, oldest first")):
    # The read's audit row is committed (api.deps) before any data leaves.
    return read_track(ctx=ctx, supervisee_id=supervisee_id, since=since, until=until, limit=limit)
