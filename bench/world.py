"""A scratch database holding a realistic district, for the benchmarks.

5,000 supervisees in one office of 衢江区, each with a permitted area (the
real district boundary), a 100 m home-curfew circle (22:00–06:00) and two
exclusion zones (a circle and a polygon), and one native-protocol device.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import psycopg
import shapely
from psycopg.types.json import Jsonb

from core.db import with_database
from migrations.run import upgrade
from core.security import keyed_hash
from geo.boundaries import bundled, load_boundary
from geo.engine.zones import local_to_lonlat


@dataclass
class BenchWorld:
    url: str
    supervisee_ids: np.ndarray
    device_ids: np.ndarray
    secrets: list[str]
    home_lon: np.ndarray
    home_lat: np.ndarray
    fence_count: int


def server_url() -> str:
    url = os.environ.get("ZHIJIAO_TEST_SERVER_URL")
    if not url:
        raise SystemExit("ZHIJIAO_TEST_SERVER_URL is not set: run through ./dev bench …")
    return url


def create_scratch(prefix: str) -> str:
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url(), name)
    upgrade(url)
    return url


def drop_scratch(url: str) -> None:
    from urllib.parse import urlsplit

    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')


def build(url: str, n: int = 5000, *, device_key: str, seed: int = 0) -> BenchWorld:
    rng = np.random.default_rng(seed)
    county, _ = load_boundary(bundled("330803"), "gcj02")
    inner = county.buffer(-0.01)
    minx, miny, maxx, maxy = county.bounds
    pts = shapely.points(rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n))
    pts = pts[shapely.contains(inner, pts)][:n]
    hl, ht = shapely.get_x(pts), shapely.get_y(pts)
    county_wkt = shapely.to_wkt(county, rounding_precision=-1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with psycopg.connect(url) as conn:
        bureau = conn.execute("INSERT INTO jurisdictions (level, name, code, path) VALUES ('bureau', '衢江区司法局', 'B1', '')"
                              " RETURNING id").fetchone()[0]
        conn.execute("UPDATE jurisdictions SET path = %s WHERE id = %s", (f"{bureau}/", bureau))
        offices = []
        for i in range(8):
            oid = conn.execute("INSERT INTO jurisdictions (parent_id, level, name, code, path) VALUES (%s, 'office', %s, %s, '')"
                               " RETURNING id", (bureau, f"司法所{i + 1}", f"O{i + 1}")).fetchone()[0]
            conn.execute("UPDATE jurisdictions SET path = %s WHERE id = %s", (f"{bureau}/{oid}/", oid))
            offices.append(oid)
        with conn.cursor().copy("COPY supervisees (name, id_hash, id_last4, sentence_type, term_start, term_end, tier,"
                                " office_id, residence, permitted_area_codes, status) FROM STDIN") as cp:
            for i in range(n):
                cp.write_row((f"对象{i}", secrets.token_hex(32), f"{i % 10000:04d}", "probation", date(2025, 1, 1),
                              date(2028, 1, 1), "ordinary", offices[i % 8],
                              f"SRID=4326;POINT({hl[i]} {ht[i]})", ["330803"], "active"))
        sids = np.array([r[0] for r in conn.execute("SELECT id FROM supervisees ORDER BY id")])
        ang = rng.uniform(0, 2 * np.pi, n)
        el, et = local_to_lonlat(1500 * np.cos(ang), 1500 * np.sin(ang), hl, ht)
        pl, pt = local_to_lonlat(-1500 * np.cos(ang), -1500 * np.sin(ang), hl, ht)
        curfew = Jsonb([{"start": "22:00", "end": "06:00", "weekdays": [0, 1, 2, 3, 4, 5, 6]}])
        fences = []  # (supervisee, kind, wkt-or-wkb, radius, curfew)
        for i, sid in enumerate(sids):
            square = shapely.box(pl[i] - 0.002, pt[i] - 0.002, pl[i] + 0.002, pt[i] + 0.002)
            fences += [(sid, "permitted", county_wkt, None, []), (sid, "curfew", f"POINT({hl[i]} {ht[i]})", 100.0, curfew),
                       (sid, "exclusion", f"POINT({el[i]} {et[i]})", 300.0, []),
                       (sid, "exclusion", shapely.to_wkt(square), None, [])]
        with conn.cursor().copy("COPY fences (supervisee_id, kind, label, sensitive, current_version, source)"
                                " FROM STDIN") as cp:
            for sid, kind, *_ in fences:
                cp.write_row((int(sid), kind, kind, kind == "exclusion", 1, Jsonb({})))
        fids = [r[0] for r in conn.execute("SELECT id FROM fences ORDER BY id")]
        with conn.cursor().copy("COPY fence_versions (fence_id, version, geom, radius_m, datum, raw, valid_from,"
                                " curfew, min_fixes, min_seconds) FROM STDIN") as cp:
            for fid, (sid, kind, wkt, radius, cf) in zip(fids, fences):
                cp.write_row((fid, 1, f"SRID=4326;{wkt}", radius, "wgs84", Jsonb({}), start, cf or Jsonb([]), 2, 60.0))
        secrets_ = [secrets.token_urlsafe(32) for _ in range(n)]
        with conn.cursor().copy("COPY devices (supervisee_id, name, kind, protocol, credential_hash) FROM STDIN") as cp:
            for sid, secret in zip(sids, secrets_):
                cp.write_row((int(sid), "phone", "phone", "native", keyed_hash(device_key, secret)))
        dids = np.array([r[0] for r in conn.execute("SELECT id FROM devices ORDER BY supervisee_id")])
        conn.commit()
        conn.execute("ANALYZE")
    return BenchWorld(url, sids, dids, secrets_, hl, ht, len(fences))
