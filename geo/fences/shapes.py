"""A shape as a caller sends it (GeoJSON, circle or admin codes) -> a WGS-84 fence geometry + the raw input.

One parser for every fence-shaped input: fences (geo.fences.service), leave
destinations and standing-permit areas (leave/). The raw input is kept as
evidence of what was declared, in which datum.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.errors import Invalid
from geo.admin_areas import admin_union
from geo.fences.schemas import ShapeIn
from geo.geometry_input import GeometryError, ParsedGeometry, parse_circle, parse_geojson

__all__ = ["parse_shape"]


def parse_shape(db: Session, data: ShapeIn, *, field_prefix: str = "") -> tuple[ParsedGeometry, dict[str, Any]]:
    """Validate whichever shape was sent; a 422 names ``field_prefix`` + the shape's field."""
    try:
        if data.geometry is not None:
            return parse_geojson(data.geometry, data.datum), {"geometry": data.geometry, "datum": data.datum}
        if data.circle is not None:
            c = data.circle
            return parse_circle(c.lon, c.lat, c.radius_m, data.datum), {"circle": c.model_dump(), "datum": data.datum}
        codes = list(dict.fromkeys(data.admin_codes or []))
        return admin_union(db, codes), {"admin_codes": codes}
    except GeometryError as exc:
        raise Invalid(str(exc), field=field_prefix + data.shape_fields()[0]) from None
