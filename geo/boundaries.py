"""Load administrative boundaries (GeoJSON) and convert them to WGS-84."""
from __future__ import annotations

import json
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from geo.datum import transform_geometry

# Bundled with the package (it ships in the wheel): see geo/data/boundaries/README.md.
DATA_DIR = Path(__file__).resolve().parent / "data" / "boundaries"
NAMES = {"330800": "衢州市", "330802": "柯城区", "330803": "衢江区"}


class BoundaryError(ValueError):
    pass


def read_geojson_polygon(path: Path) -> tuple[MultiPolygon, dict]:
    """Read a Polygon/MultiPolygon (bare geometry, Feature or one-feature collection)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BoundaryError(f"cannot read {path}: {exc}") from exc
    props = dict(doc.get("properties") or {})
    if doc.get("type") == "FeatureCollection":
        feats = doc.get("features") or []
        if len(feats) != 1:
            raise BoundaryError(f"{path}: expected one feature, found {len(feats)}")
        props.update(feats[0].get("properties") or {})
        doc = feats[0]
    if doc.get("type") == "Feature":
        props.update(doc.get("properties") or {})
        doc = doc.get("geometry") or {}
    geom = shape(doc)
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    if not isinstance(geom, MultiPolygon):
        raise BoundaryError(f"{path}: expected a (Multi)Polygon, got {geom.geom_type}")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
        if not isinstance(geom, MultiPolygon):
            geom = MultiPolygon([g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon)])
    return geom, props


def load_boundary(path: Path, datum: str) -> tuple[MultiPolygon, dict]:
    """The boundary in WGS-84, plus the file's properties."""
    geom, props = read_geojson_polygon(path)
    wgs = transform_geometry(geom, datum)
    if isinstance(wgs, Polygon):
        wgs = MultiPolygon([wgs])
    return wgs, props


def bundled(code: str) -> Path:
    """The bundled boundary file of an area code (GCJ-02, as drawn from Amap)."""
    return DATA_DIR / f"{code}.geojson"


def bundled_wgs84(code: str) -> MultiPolygon:
    """A bundled boundary converted to WGS-84."""
    return load_boundary(bundled(code), "gcj02")[0]


# ~1 cm grid: neighbouring districts' shared borders rarely match to the last
# bit, and their union would otherwise keep dozens of zero-area sliver holes
# along the border, which make fixes there needlessly "uncertain".
UNION_GRID_DEG = 1e-7


def union_of_areas(geometries) -> MultiPolygon | Polygon:
    """The union of administrative areas (a permitted area such as 衢江区 ∪ 柯城区)."""
    return shapely.union_all(shapely.set_precision(list(geometries), UNION_GRID_DEG))
