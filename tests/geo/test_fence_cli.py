"""`zhijiao fences import-boundary`, run as a real process against a fresh migrated database."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import shapely

from geo.boundaries import bundled, load_boundary
from geo.datum import gcj02_to_wgs84
from tests.conftest import migrated_database

ROOT = Path(__file__).resolve().parents[2]
QUJIANG = bundled("330803")


@pytest.fixture(scope="module")
def fresh_url(server_url: str) -> Iterator[str]:
    with migrated_database(server_url, "zj_cli") as url:
        yield url


def zhijiao(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZHIJIAO_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "api.cli", "fences", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_import_boundary_converts_gcj02_and_keeps_the_raw_file(fresh_url):
    r = zhijiao(fresh_url, "import-boundary", str(QUJIANG), "--datum", "gcj02")
    assert r.returncode == 0, r.stderr
    m = re.search(r"imported 330803 衢江区: (\d+) vertices, ([\d.]+) km²", r.stdout)
    assert m, r.stdout
    expected, _ = load_boundary(bundled("330803"), "gcj02")
    assert int(m.group(1)) == shapely.get_num_coordinates(expected)
    assert 1700 < float(m.group(2)) < 1800  # 衢江区 is about 1,750 km²
    with psycopg.connect(fresh_url) as conn:
        name, datum, source, wkb = conn.execute(
            "SELECT name, source_datum, source, ST_AsBinary(geom) FROM admin_areas WHERE code = '330803'").fetchone()
        audited = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'admin_area.import'").fetchone()[0]
    stored = shapely.from_wkb(bytes(wkb))
    assert (name, datum) == ("衢江区", "gcj02") and audited == 1
    assert source["geojson"] == json.loads(QUJIANG.read_text(encoding="utf-8"))  # raw input, before conversion
    assert stored.equals_exact(expected, 1e-9)  # stored in WGS-84, not the GCJ-02 of the file
    raw_first = source["geojson"]["coordinates"][0][0][0]
    stored_first = shapely.get_coordinates(stored)[0]
    assert stored_first == pytest.approx(gcj02_to_wgs84(*raw_first), abs=1e-9)
    assert shapely.Point(raw_first).distance(shapely.Point(stored_first)) > 0.004  # ~580 m datum offset removed


def test_import_boundary_upserts_and_takes_code_and_name_options(fresh_url, tmp_path):
    r = zhijiao(fresh_url, "import-boundary", str(QUJIANG), "--datum", "gcj02", "--name", "衢江")
    assert r.returncode == 0 and r.stdout.startswith("updated 330803 衢江:"), r.stdout + r.stderr
    geometry = json.loads(QUJIANG.read_text(encoding="utf-8"))
    del geometry["properties"]
    feature = {"type": "Feature", "properties": {"adcode": 330899, "name": "测试区"}, "geometry": geometry}
    path = tmp_path / "area.geojson"
    path.write_text(json.dumps(feature), encoding="utf-8")
    r = zhijiao(fresh_url, "import-boundary", str(path), "--datum", "wgs84")
    assert r.returncode == 0 and r.stdout.startswith("imported 330899 测试区:"), r.stdout + r.stderr
    r = zhijiao(fresh_url, "import-boundary", str(path), "--datum", "wgs84", "--code", "330898", "--name", "别名")
    assert r.returncode == 0 and r.stdout.startswith("imported 330898 别名:"), r.stdout + r.stderr
    with psycopg.connect(fresh_url) as conn:
        rows = dict(conn.execute("SELECT code, name FROM admin_areas ORDER BY code").fetchall())
    assert rows == {"330803": "衢江", "330898": "别名", "330899": "测试区"}


def test_import_boundary_refuses_bad_input(fresh_url, tmp_path):
    nameless = tmp_path / "area.geojson"
    bare = {k: v for k, v in json.loads(QUJIANG.read_text(encoding="utf-8")).items() if k != "properties"}
    nameless.write_text(json.dumps(bare), encoding="utf-8")
    r = zhijiao(fresh_url, "import-boundary", str(nameless), "--datum", "gcj02")
    assert r.returncode != 0 and "--code" in r.stderr
    point = tmp_path / "point.geojson"
    point.write_text('{"type": "Point", "coordinates": [118.9, 28.9]}', encoding="utf-8")
    r = zhijiao(fresh_url, "import-boundary", str(point), "--datum", "gcj02", "--code", "1")
    assert r.returncode != 0 and "Polygon" in r.stderr
    r = zhijiao(fresh_url, "import-boundary", str(QUJIANG), "--datum", "utm")
    assert r.returncode != 0 and "wgs84" in r.stderr
