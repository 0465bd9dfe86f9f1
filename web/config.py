"""What the console's map needs before drawing: the base map (tiles, datum) and the outlines.

The tile settings come from ``ConsoleSettings``; with no tile URL the page draws
the outlines and fences on a plain background and fetches no tile at all.
Positions are always sent as stored (WGS-84): for GCJ-02 tiles the page shifts
them for display only (web/static/js/datum.js), never the data.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from core.context import Ctx
from supervision.jurisdictions import outlines


class TilesOut(BaseModel):
    url: str
    subdomains: list[str]
    attribution: str
    datum: str  # wgs84 | cgcs2000 | gcj02
    max_zoom: int


class OutlineOut(BaseModel):
    jurisdiction_id: int
    name: str
    level: str
    geometry: dict[str, Any]  # GeoJSON, WGS-84


class MapConfigOut(BaseModel):
    tiles: TilesOut | None
    outlines: list[OutlineOut]


def map_config(*, ctx: Ctx) -> MapConfigOut:
    shapes = outlines(ctx=ctx)  # staff only: raises Forbidden for anyone else
    c = ctx.settings.console
    tiles = None
    if c.console_tile_url:
        tiles = TilesOut(url=c.console_tile_url, subdomains=c.subdomains(), attribution=c.console_tile_attribution,
                         datum=c.console_tile_datum, max_zoom=c.console_tile_max_zoom)
    return MapConfigOut(tiles=tiles, outlines=[OutlineOut(**o) for o in shapes])
