"""A shape as a caller sends it (GeoJSON, circle or admin codes) -> a WGS-84 fence geometry + the raw input.

One parser for every fence-shaped input: fences (geo.fences.service), leave
destinations and standing-permit areas (leave/). The raw input is kept as
evidence of what was declared, in which datum.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from core.errors import Invalid
from geo.admin_areas import admin_union
from geo.fences.schemas import ShapeIn
from geo.geometry_input import GeometryError, ParsedGeometry, parse_circle, parse_geojson

__all__ = ["MAX_EVIDENCE_BYTES", "parse_shape"]

# The evidence is answered back in every listing of its fence or leave. With
# foreign members refused and at most MAX_VERTICES positions it stays under
# ~1.6 MB; the cap is the backstop that keeps it so whatever the parser
# learns to accept.
MAX_EVIDENCE_BYTES = 2 * 2**20


def parse_shape(db: Session, data: ShapeIn, *, field_prefix: str = "") -> tuple[ParsedGeometry, dict[str, Any]]:
    """Validate whichever shape was sent; a 422 names ``field_prefix`` + the shape's field."""
    parsed, raw = _parse(db, data, field_prefix)
    size = len(json.dumps(raw, separators=(",", ":")))
    if size > MAX_EVIDENCE_BYTES:
        raise Invalid(f"{data.shape_fields()[0]} is too large to keep: {size} bytes as sent "
                      f"(at most {MAX_EVIDENCE_BYTES} bytes)", field=field_prefix + data.shape_fields()[0])
    return parsed, raw


def _parse(db: Session, data: ShapeIn, field_prefix: str) -> tuple[ParsedGeometry, dict[str, Any]]:
    try:
        if data.geometry is not None:
            parsed = parse_geojson(data.geometry, data.datum)
            return parsed, {"geometry": parsed.geojson, "datum": data.datum}
        if data.circle is not None:
            c = data.circle
            return parse_circle(c.lon, c.lat, c.radius_m, data.datum), {"circle": c.model_dump(), "datum": data.datum}
        codes = list(dict.fromkeys(data.admin_codes or []))
        return admin_union(db, codes), {"admin_codes": codes}
    except GeometryError as exc:
        raise Invalid(str(exc), field=field_prefix + data.shape_fields()[0]) from None
