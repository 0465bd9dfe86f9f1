"""REST route for the console's map: base-map settings and the administrative outlines."""
from __future__ import annotations

from fastapi import APIRouter

from api.deps import CtxDep
from web.config import MapConfigOut, map_config

router = APIRouter(tags=["console"])


@router.get("/map/config", response_model=MapConfigOut,
            responses={403: {"description": "Your role has no map (administrators, supervisees)"}})
def get_map_config(ctx: CtxDep):
    return map_config(ctx=ctx)
