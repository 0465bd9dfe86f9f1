"""`zhijiao cameras import`, run as a real process against a fresh migrated database."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg

from tests.conftest import migrated_database

ROOT = Path(__file__).resolve().parents[2]


def test_cli_import_reports_refusals_and_imports_the_rest(server_url, tmp_path):
    csv = tmp_path / "cams.csv"
    csv.write_text("code,name,lon,lat,datum,heading,fov,range,url\n"
                   "Q1,东,118.9,28.9,gcj02,90,90,100,rtsp://127.0.0.21:9/live\n"
                   "Q2,坏,118.9,28.9,wgs84,90,90,100,rtsp://admin:hunter2@127.0.0.22:9/live\n", encoding="utf-8")
    with migrated_database(server_url, "zj_camcli") as url:
        with psycopg.connect(url) as conn:
            conn.execute("INSERT INTO jurisdictions (level, name, code, path) VALUES ('bureau', '局', 'CLI1', '')")
            conn.execute("UPDATE jurisdictions SET path = id || '/' WHERE code = 'CLI1'")
        env = {**os.environ, "ZHIJIAO_DATABASE_URL": url, "ZHIJIAO_CAMERA_NETWORKS": '["127.0.0.0/8"]'}
        r = subprocess.run([sys.executable, "-m", "api.cli", "cameras", "import", str(csv), "--jurisdiction", "CLI1"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        summary = json.loads(r.stdout.strip().splitlines()[-1])
        assert summary["rows"] == 2 and summary["imported"] == 1 and summary["refused"] == 1
        assert "line 3: Q2: url:" in r.stderr and "hunter2" not in r.stderr + r.stdout
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT code, source_datum FROM cameras").fetchall() == [("Q1", "gcj02")]
            assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'camera.import'").fetchone()[0] == 1
        bad = subprocess.run([sys.executable, "-m", "api.cli", "cameras", "import", str(csv), "--jurisdiction", "NOPE"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert bad.returncode != 0 and "NOPE" in bad.stderr
