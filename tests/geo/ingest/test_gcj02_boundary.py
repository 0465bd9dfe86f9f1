"""The issue's GCJ-02 check, end to end: 衢江区 imported from the bundled GCJ-02
file (as `zhijiao fences import-boundary 330803.geojson --datum gcj02` does),
made a permitted area through the REST API, and fixes reported in WGS-84 by
one phone and in GCJ-02 by another give the same decisions."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
from sqlalchemy import select

from geo.admin_areas import import_boundary
from geo.boundaries import bundled
from geo.datum import from_wgs84
from geo.engine import distance_to_boundary_m
from geo.ingest.models import Fix
from tests.factories import add_device, add_supervisee
from tests.geo.ingest.conftest import QUJIANG_WGS84


def test_fixes_in_either_datum_decide_alike(client, db, settings, world, clock):
    import_boundary(db, bundled("330803"), datum="gcj02")
    sup = add_supervisee(db, settings, world.office_a, world.users["officer_a"], "庚")
    r = client.post(f"/supervisees/{sup.id}/fences", headers=world.auth("officer_a"),
                    json={"kind": "permitted", "admin_codes": ["330803"]})
    assert r.status_code == 201, r.text
    fence_id = r.json()["id"]
    _, wgs_secret = add_device(db, settings, sup)
    _, gcj_secret = add_device(db, settings, sup)
    # Points scattered across the district border, most within 2 km of it,
    # where a datum mix-up (~580 m here) would flip decisions.
    rng = np.random.default_rng(5)
    border = QUJIANG_WGS84.boundary if QUJIANG_WGS84.geom_type == "Polygon" else \
        max(QUJIANG_WGS84.geoms, key=lambda g: g.area).boundary
    anchors = [border.interpolate(x, normalized=True) for x in rng.uniform(0, 1, 60)]
    lon = np.array([p.x for p in anchors]) + rng.normal(0, 0.01, 60)
    lat = np.array([p.y for p in anchors]) + rng.normal(0, 0.01, 60)
    acc = rng.uniform(10, 80, 60)
    signed = distance_to_boundary_m(QUJIANG_WGS84, lon, lat)
    assert (signed < 0).sum() > 10 and (signed > 0).sum() > 10  # both sides of the border
    glon, glat = from_wgs84(lon, lat, "gcj02")
    t0 = clock.now() + timedelta(seconds=5)  # fences are not retroactive: fixes come after it
    clock.advance(days=3)
    for secret, xs, ys, datum in ((wgs_secret, lon, lat, "wgs84"), (gcj_secret, glon, glat, "gcj02")):
        # One fix per request, an hour apart: independent of each other (no speed flags).
        for i in range(60):
            fix = {"id": f"{datum}-{i}", "time": (t0 + timedelta(hours=i)).isoformat(),
                   "lon": float(xs[i]), "lat": float(ys[i]), "accuracy": float(acc[i]), "datum": datum}
            assert client.post("/ingest/native", headers={"Authorization": f"Bearer {secret}"},
                               json={"fixes": [fix]}).status_code == 200
    rows = db.scalars(select(Fix).where(Fix.supervisee_id == sup.id)).all()
    decided = {}
    for row in rows:
        datum, i = row.dedup_key.split("-")
        decided.setdefault(int(i), {})[datum] = [d for d in row.decisions if d[0] == fence_id]
    assert len(decided) == 60
    assert all(v["wgs84"] == v["gcj02"] for v in decided.values()), decided
    assert {d[0][2] for v in decided.values() for d in [v["wgs84"]] if d} >= {1, 2}  # inside and outside seen
