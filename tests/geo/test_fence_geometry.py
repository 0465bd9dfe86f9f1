"""Geometry input: every way a fence geometry can be wrong gets a 422 that says why."""
from __future__ import annotations

import json
import math

import pytest
from shapely.geometry import Point, Polygon

from geo.datum import gcj02_to_wgs84, wgs84_to_gcj02
from geo.engine import Circle
from geo.geometry_input import MAX_VERTICES, GeometryError, area_km2, parse_circle, parse_geojson

LON, LAT = 118.95, 28.95


def square(lon=LON, lat=LAT, d=0.01) -> list[list[float]]:
    return [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]


def poly(*rings) -> dict:
    return {"type": "Polygon", "coordinates": list(rings)}


BOWTIE = [[LON, LAT], [LON + 0.01, LAT + 0.01], [LON + 0.01, LAT], [LON, LAT + 0.01], [LON, LAT]]
BAD = {
    "self-intersecting": (poly(BOWTIE), "self-intersecting"),
    "too many vertices": (poly([[LON + 0.01 * math.cos(a), LAT + 0.01 * math.sin(a)]
                                for a in (2 * math.pi * i / (MAX_VERTICES + 5) for i in range(MAX_VERTICES + 5))]
                               + [[LON + 0.01, LAT]]), "too many vertices"),
    "longitude out of range": (poly(square(lon=181.0)), "out of range"),
    "swapped lon/lat": (poly([[28.9, 118.9], [29.0, 118.9], [29.0, 119.0], [28.9, 118.9]]), "out of range"),
    "nan": (poly([[LON, LAT], [math.nan, LAT], [LON, LAT + 0.01], [LON, LAT]]), "nan"),
    "unclosed ring": (poly(square()[:-1]), "not closed"),
    "empty polygon": (poly(), "empty"),
    "empty multipolygon": ({"type": "MultiPolygon", "coordinates": []}, "empty"),
    "hole outside shell": (poly(square(), square(lon=LON + 0.1, d=0.001)), "hole lies outside"),
    "too large": (poly(square(d=2.0)), "too large"),
    "too few positions": (poly([[LON, LAT], [LON + 0.01, LAT], [LON, LAT]]), "at least 4"),
    "not a polygon": ({"type": "Point", "coordinates": [LON, LAT]}, "polygon or multipolygon"),
    "string coordinate": (poly([[LON, LAT], ["x", LAT], [LON, LAT + 0.01], [LON, LAT]]), "numbers"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_geojson_is_refused_with_reason(case):
    doc, why = BAD[case]
    with pytest.raises(GeometryError) as exc:
        parse_geojson(doc, "wgs84")
    assert why in str(exc.value).lower()


@pytest.mark.parametrize("radius, why", [(0, "radius"), (-5, "radius"), (50_001, "radius"), (math.inf, "finite"),
                                          (math.nan, "finite")])
def test_bad_circles(radius, why):
    with pytest.raises(GeometryError, match=why):
        parse_circle(LON, LAT, radius, "wgs84")


def test_circle_converted_from_gcj02():
    glon, glat = wgs84_to_gcj02(LON, LAT)
    parsed = parse_circle(glon, glat, 100, "gcj02")
    assert parsed.geometry.distance(Point(LON, LAT)) < 1e-8
    assert parsed.to_engine() == Circle(parsed.geometry.x, parsed.geometry.y, 100)


def test_polygon_converted_from_gcj02_and_multipolygon_accepted():
    parsed = parse_geojson(poly(square()), "gcj02")
    x, y = parsed.geometry.exterior.coords[0]
    assert (x, y) == pytest.approx(gcj02_to_wgs84(LON - 0.01, LAT - 0.01), abs=1e-9)
    multi = parse_geojson({"type": "MultiPolygon", "coordinates": [[square()], [square(lon=LON + 0.1)]]}, "bd09")
    assert multi.geometry.geom_type == "MultiPolygon" and multi.geometry.is_valid


def test_area_close_to_reference():
    # 0.02° x 0.02° at 28.95°N: 2.2239 km x 1.9460 km ≈ 4.328 km² on the mean sphere.
    assert area_km2(Polygon(square())) == pytest.approx(4.328, rel=0.01)


# --- the same cases through REST -----------------------------------------------

@pytest.mark.parametrize("case", sorted(BAD))
def test_rest_422_names_the_reason(client, world, case):
    doc, why = BAD[case]
    sid = world.supervisees["a"].id
    body = '{"kind": "exclusion", "datum": "wgs84", "geometry": %s}' % json.dumps(doc)  # NaN stays NaN
    headers = {**world.auth("officer_a"), "content-type": "application/json"}
    r = client.post(f"/supervisees/{sid}/fences", headers=headers, content=body)
    assert r.status_code == 422, r.text
    assert why in r.json()["detail"].lower()
    assert r.json()["errors"][0]["field"] == "geometry"


@pytest.mark.parametrize("circle, why", [
    ({"lon": LON, "lat": LAT, "radius_m": 0}, "radius"),
    ({"lon": LON, "lat": LAT, "radius_m": 60_000}, "radius"),
    ({"lon": 200, "lat": LAT, "radius_m": 100}, "lon"),
])
def test_rest_bad_circle(client, world, circle, why):
    r = client.post(f"/supervisees/{world.supervisees['a'].id}/fences", headers=world.auth("officer_a"),
                    json={"kind": "exclusion", "circle": circle})
    assert r.status_code == 422, r.text
    assert why in r.text


def test_rest_nan_radius_refused(client, world):
    body = '{"kind": "exclusion", "circle": {"lon": 118.9, "lat": 28.9, "radius_m": NaN}}'
    r = client.post(f"/supervisees/{world.supervisees['a'].id}/fences",
                    headers={**world.auth("officer_a"), "content-type": "application/json"}, content=body)
    assert r.status_code == 422, r.text
