"""Camera coverage benchmark: ms per fix against 14,000 cameras of one district, with a baseline.

A scratch database gets the 衢江区 district's 14,000 village cameras (雪亮工程),
imported through the real CSV importer (its time is reported too): half
clustered around 300 villages, half scattered, each with a random heading,
a field of view of 60°, 90° or 360° and a range of 50–150 m, positions given in
GCJ-02 for a third of them. Then for N fixes (accuracy 5–60 m, half of them
near a camera) it times ``cameras.coverage.covering_cameras`` (one indexed
PostGIS query + the pure sector function), and as the baseline the naive scan
of all 14,000 cameras with the same pure function (arrays already in memory,
so the baseline has no database cost at all). ``indexed_client_cpu_mean_ms`` is this
process's CPU per fix (the wall time adds PostgreSQL's work and, on a loaded machine,
waiting for a core). Both must give the same cameras
for every fix; the run fails otherwise. Prints one JSON object.
Run: ./dev bench cameras [--cameras 14000 --fixes 2000]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["ZHIJIAO_CAMERA_NETWORKS"] = '["127.0.0.0/8"]'

from bench.world import create_scratch, drop_scratch  # noqa: E402
from geo.boundaries import bundled, load_boundary  # noqa: E402
from geo.datum import wgs84_to_gcj02  # noqa: E402
from geo.engine.sector import sector_distance_m  # noqa: E402
from geo.engine.zones import local_to_lonlat  # noqa: E402


def camera_csv(n: int, rng: np.random.Generator) -> tuple[bytes, np.ndarray]:
    county, _ = load_boundary(bundled("330803"), "gcj02")
    inner = county.buffer(-0.005)
    minx, miny, maxx, maxy = county.bounds
    pts = shapely.points(rng.uniform(minx, maxx, 6 * n), rng.uniform(miny, maxy, 6 * n))
    pts = pts[shapely.contains(inner, pts)]
    villages = pts[:300]
    scattered = pts[300:300 + n - n // 2]
    centre = villages[rng.integers(0, len(villages), n // 2)]
    r, a = rng.uniform(0, 400, n // 2), rng.uniform(0, 2 * np.pi, n // 2)
    vlon, vlat = local_to_lonlat(r * np.sin(a), r * np.cos(a), shapely.get_x(centre), shapely.get_y(centre))
    lon = np.concatenate([vlon, shapely.get_x(scattered)])
    lat = np.concatenate([vlat, shapely.get_y(scattered)])
    gcj = rng.random(n) < 1 / 3
    glon, glat = wgs84_to_gcj02(lon[gcj], lat[gcj])
    out_lon, out_lat = lon.copy(), lat.copy()
    out_lon[gcj], out_lat[gcj] = glon, glat
    lines = ["code,name,lon,lat,datum,heading,fov,range,url"]
    for i in range(n):
        lines.append(f"3308030000132{i:07d},村{i},{out_lon[i]:.7f},{out_lat[i]:.7f},{'gcj02' if gcj[i] else 'wgs84'},"
                     f"{rng.integers(0, 360)},{rng.choice([60, 90, 360])},{rng.integers(50, 151)},"
                     f"rtsp://127.{1 + i // 65536}.{i // 256 % 256}.{i % 256}:9/ch1")
    return ("\n".join(lines) + "\n").encode(), np.column_stack([lon, lat])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=14_000)
    parser.add_argument("--fixes", type=int, default=2_000)
    args = parser.parse_args()
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from cameras.coverage import covering_cameras
    from cameras.importer import run_import
    from cameras.models import Camera
    from core.audit import AuditLog
    from core.clock import SystemClock
    from core.context import Ctx
    from core.db import sqlalchemy_url
    from core.principal import RequestContext
    from core.settings import Settings
    from supervision.models import Jurisdiction

    rng = np.random.default_rng(11)
    data, positions = camera_csv(args.cameras, rng)
    url = create_scratch("zj_bench_cameras")
    try:
        engine = create_engine(sqlalchemy_url(url))
        settings = Settings()
        with Session(engine) as db:
            home = Jurisdiction(level="bureau", name="衢江区司法局", code="B1", path="")
            db.add(home)
            db.flush()
            home.path = f"{home.id}/"
            ctx = Ctx(db=db, request=RequestContext(None, source_addr="bench"),
                      audit=AuditLog(b"bench" * 8, SystemClock()), settings=settings, clock=SystemClock())
            t0 = time.perf_counter()
            report = run_import(ctx=ctx, data=data, home=home)
            db.commit()
            import_ms = (time.perf_counter() - t0) * 1000
            assert report.imported == args.cameras, report.refused[:5]
            db.execute(select(1).select_from(Camera)).all()
            with db.connection().connection.driver_connection.cursor() as cur:
                cur.execute("ANALYZE cameras")
            db.commit()
            cams = db.execute(select(Camera.id, Camera.lon, Camera.lat, Camera.heading, Camera.fov, Camera.range_m)).all()
            ids = np.array([c.id for c in cams])
            cols = np.array([c[1:] for c in cams], np.float64).T
            # Half the fixes within 100 m of a camera, half anywhere in the district's box.
            near = positions[rng.integers(0, len(positions), args.fixes // 2)]
            d, a = rng.uniform(0, 100, len(near)), rng.uniform(0, 2 * np.pi, len(near))
            nlon, nlat = local_to_lonlat(d * np.sin(a), d * np.cos(a), near[:, 0], near[:, 1])
            far = args.fixes - len(near)
            flon = np.concatenate([nlon, rng.uniform(positions[:, 0].min(), positions[:, 0].max(), far)])
            flat = np.concatenate([nlat, rng.uniform(positions[:, 1].min(), positions[:, 1].max(), far)])
            acc = rng.uniform(5, 60, args.fixes)
            for i in range(20):  # warm the pool, the plan cache and the index pages
                covering_cameras(db, lon=float(flon[i]), lat=float(flat[i]), accuracy_m=float(acc[i]))
            indexed, indexed_cpu, naive, hits, mismatches = [], [], [], 0, 0
            for lon, lat, r in zip(flon.tolist(), flat.tolist(), acc.tolist()):
                t, c = time.perf_counter(), time.process_time()
                got = covering_cameras(db, lon=lon, lat=lat, accuracy_m=r)
                indexed.append((time.perf_counter() - t) * 1000)
                indexed_cpu.append((time.process_time() - c) * 1000)
                t = time.perf_counter()
                gap, dist = sector_distance_m(cols[0], cols[1], cols[2], cols[3], cols[4], lon, lat)
                seen = np.flatnonzero(gap <= r)
                expect = ids[seen[np.argsort(dist[seen], kind="stable")]].tolist()
                naive.append((time.perf_counter() - t) * 1000)
                hits += len(got)
                mismatches += [h.id for h in got] != expect
        engine.dispose()
    finally:
        drop_scratch(url)

    def summary(ms: list[float]) -> dict:
        q = np.percentile(ms, [50, 95, 99])
        return {"mean_ms": round(statistics.fmean(ms), 3), "p50_ms": round(q[0], 3), "p95_ms": round(q[1], 3),
                "p99_ms": round(q[2], 3)}

    result = {"benchmark": "camera coverage", "cameras": args.cameras, "fixes": args.fixes,
              "import_ms": round(import_ms, 1), "covering_per_fix_mean": round(hits / args.fixes, 2),
              "indexed": summary(indexed), "indexed_client_cpu_mean_ms": round(statistics.fmean(indexed_cpu), 3),
              "baseline_naive_scan": summary(naive),
              "speedup_p50": round(float(np.median(naive) / np.median(indexed)), 1),
              "target_ms": 5.0, "mismatches": mismatches}
    print(json.dumps(result, ensure_ascii=False))
    if mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
