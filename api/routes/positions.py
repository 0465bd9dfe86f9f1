"""REST route for the officer's map: last known positions in the caller's jurisdiction."""
from __future__ import annotations

from fastapi import APIRouter, Query

from api.deps import CtxDep
from core.schemas import Id
from geo.positions import PositionsOut, last_positions

router = APIRouter(tags=["tracks"])


@router.get("/positions", response_model=PositionsOut,
            responses={403: {"description": "Your role may not read positions (administrators, supervisees)"}})
def get_positions(ctx: CtxDep, office_id: Id | None = Query(None, description="only this office (within your scope)")):
    # Audited (geo.positions); the audit row commits with the read.
    return last_positions(ctx=ctx, office_id=office_id)
