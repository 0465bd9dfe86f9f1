"""A realistic synthetic world for measuring :meth:`FenceSet.judge` (bench/ingest.py).

``build_world`` makes N supervisees, each with the shared county permitted
area (the real Qujiang boundary converted to WGS-84 when available, loaded
once per supervisee from WKB as a database loader would), a 100 m home
curfew circle (22:00-06:00), one exclusion circle and one exclusion polygon
of 200-500 m.  ``fix_batch`` draws fixes near homes and near exclusion
zones; ``measure`` returns fixes per second.
"""
from __future__ import annotations

import json
import time as _time
from dataclasses import dataclass
from datetime import UTC, datetime, time

import numpy as np
import shapely
from shapely.geometry import Point

from geo.boundaries import bundled_wgs84
from geo.engine.curfew import CurfewWindow
from geo.engine.fenceset import FenceSet
from geo.engine.zones import Circle, Fence, FenceKind, local_to_lonlat

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def county_polygon(adcode: str = "330803"):
    """The county boundary in WGS-84, from the boundaries bundled with geo/."""
    return bundled_wgs84(adcode)


@dataclass
class World:
    fence_set: FenceSet
    home_lon: np.ndarray
    home_lat: np.ndarray
    excl_lon: np.ndarray
    excl_lat: np.ndarray
    supervisee_ids: np.ndarray


def build_world(n_supervisees: int = 5000, seed: int = 0) -> World:
    rng = np.random.default_rng(seed)
    county = county_polygon()
    wkb = shapely.to_wkb(county)
    minx, miny, maxx, maxy = county.bounds
    pts = shapely.points(rng.uniform(minx, maxx, 4 * n_supervisees), rng.uniform(miny, maxy, 4 * n_supervisees))
    inner = pts[shapely.contains(county.buffer(-0.01), pts)][:n_supervisees]
    hl, ht = shapely.get_x(inner), shapely.get_y(inner)
    ang = rng.uniform(0, 2 * np.pi, n_supervisees)
    el, et = local_to_lonlat(1500 * np.cos(ang), 1500 * np.sin(ang), hl, ht)
    fences: list[Fence] = []
    nightly = (CurfewWindow(time(22), time(6)),)
    fid = 0
    for s in range(n_supervisees):
        sid = 1000 + s
        r = rng.uniform(200, 500)
        poly_c = local_to_lonlat(-800.0, 300.0, hl[s], ht[s])
        excl_poly = Point(poly_c).buffer(r / 111_000, quad_segs=8)
        specs = [
            (FenceKind.PERMITTED, shapely.from_wkb(wkb), ()),
            (FenceKind.CURFEW, Circle(float(hl[s]), float(ht[s]), 100.0), nightly),
            (FenceKind.EXCLUSION, Circle(float(el[s]), float(et[s]), r), ()),
            (FenceKind.EXCLUSION, excl_poly, ()),
        ]
        for kind, geom, windows in specs:
            fid += 1
            fences.append(Fence(fid, 1, sid, kind, geom, _EPOCH, None, curfew=windows))
    sids = np.arange(1000, 1000 + n_supervisees)
    return World(FenceSet(fences), hl, ht, el, et, sids)


def fix_batch(world: World, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """n fixes over ~n distinct supervisees: near home, some near their exclusion circle."""
    who = rng.choice(world.supervisee_ids.size, size=n, replace=world.supervisee_ids.size < n)
    near_excl = rng.random(n) < 0.2
    base_lon = np.where(near_excl, world.excl_lon[who], world.home_lon[who])
    base_lat = np.where(near_excl, world.excl_lat[who], world.home_lat[who])
    d = rng.exponential(300, n)
    a = rng.uniform(0, 2 * np.pi, n)
    lon, lat = local_to_lonlat(d * np.cos(a), d * np.sin(a), base_lon, base_lat)
    t = _EPOCH.timestamp() + 86400 * 30 + rng.uniform(0, 86400, n)
    acc = rng.uniform(5, 100, n)
    return world.supervisee_ids[who], t, lon, lat, acc


def measure(world: World | None = None, batch: int = 1000, batches: int = 50, seed: int = 1) -> dict:
    """Throughput of ``judge`` on pre-generated batches: fixes/s and pairs per fix."""
    world = world or build_world()
    rng = np.random.default_rng(seed)
    data = [fix_batch(world, batch, rng) for _ in range(batches)]
    world.fence_set.judge(*data[0])  # warm up prepared geometries
    pairs = 0
    t0 = _time.perf_counter()
    for b in data:
        pairs += world.fence_set.judge(*b).fix.size
    dt = _time.perf_counter() - t0
    return {"fixes_per_s": batch * batches / dt, "pairs_per_fix": pairs / (batch * batches), "seconds": dt}


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(measure()))
