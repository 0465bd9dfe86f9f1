"""Administrative areas (行政区划): import boundaries (converted to WGS-84, raw input kept), and their union."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import shapely
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.boundaries import NAMES, BoundaryError, load_boundary, union_of_areas
from geo.datum import Datum
from geo.geometry_input import GeometryError, ParsedGeometry, check_polygonal
from geo.models import AdminArea

__all__ = ["ImportedArea", "admin_union", "import_boundary"]

_CODE = re.compile(r"^[0-9A-Za-z]{1,12}$")


@dataclass(frozen=True, slots=True)
class ImportedArea:
    code: str
    name: str
    vertices: int
    area_km2: float
    created: bool


def _pick_code(path: Path, props: dict, code: str | None) -> str:
    # A bare geometry file (like geo/data/boundaries/330803.geojson) has no
    # properties: its name is its code.
    candidate = code or props.get("adcode") or (path.stem if path.stem.isdigit() else None)
    if candidate is None:
        raise BoundaryError(f"{path}: no code; pass --code or give the feature an 'adcode' property")
    candidate = str(candidate)
    if not _CODE.match(candidate):
        raise BoundaryError(f"code {candidate!r} must be 1-12 letters or digits (e.g. 330803)")
    return candidate


def import_boundary(db: Session, path: Path, *, datum: str, code: str | None = None,
                    name: str | None = None) -> ImportedArea:
    """Upsert one admin area from a GeoJSON (Multi)Polygon file declared in ``datum``. Does not commit."""
    geom, props = load_boundary(path, Datum(datum).value)
    code = _pick_code(path, props, code)
    name = name or props.get("name") or NAMES.get(code)
    if not name:
        raise BoundaryError(f"no name for {code}; pass --name or give the feature a 'name' property")
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    row = db.get(AdminArea, code)
    created = row is None
    if row is None:
        row = AdminArea(code=code)
        db.add(row)
    row.name = str(name)[:100]
    row.geom = from_shape(geom, srid=4326)
    row.source_datum = Datum(datum).value
    row.source = {"file": Path(path).name, "properties": props, "geojson": raw}
    row.updated_at = func.now()
    db.flush()
    area_m2 = db.scalar(select(func.ST_Area(func.geography(AdminArea.geom))).where(AdminArea.code == code))
    return ImportedArea(code, row.name, int(shapely.get_num_coordinates(geom)), float(area_m2) / 1e6, created)


def admin_union(db: Session, codes: list[str]) -> ParsedGeometry:
    """The union of the named areas as a fence geometry; GeometryError names any unknown code."""
    rows = db.execute(select(AdminArea.code, AdminArea.geom).where(AdminArea.code.in_(codes))).all()
    missing = sorted(set(codes) - {code for code, _ in rows})
    if missing:
        raise GeometryError(f"unknown administrative area code(s): {', '.join(missing)} "
                            "(import them with `zhijiao fences import-boundary`)")
    union = union_of_areas(to_shape(g) for _, g in rows)
    check_polygonal(union, "the union of the administrative areas")
    return ParsedGeometry(union, None, Datum.WGS84.value)  # admin areas are stored in WGS-84 already
