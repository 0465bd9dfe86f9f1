"""`zhijiao audit checkpoint` and `zhijiao audit verify`, run as an operator would:
a subprocess against a fresh database, with tamperings committed in between."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from core.audit import AuditEntry
from core.audit.checkpoints import read_checkpoints
from tests.conftest import migrated_database
from tests.core.test_audit_db import write_chain

ROOT = Path(__file__).resolve().parents[2]
KEY = os.environ["ZHIJIAO_AUDIT_KEY"].encode()  # set by tests/conftest.py; the subprocess inherits it
ROWS = 40


@pytest.fixture(scope="module")
def fresh(server_url: str) -> Iterator[tuple[str, Engine]]:
    from core.db import sqlalchemy_url
    with migrated_database(server_url, "zj_audit_cli") as url:
        eng = create_engine(sqlalchemy_url(url), pool_size=1)
        with Session(eng) as db:
            write_chain(db, ROWS, key=KEY)
            db.commit()
        yield url, eng
        eng.dispose()


def run(url: str, checkpoint_file: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZHIJIAO_DATABASE_URL": url, "ZHIJIAO_AUDIT_CHECKPOINT_PATH": str(checkpoint_file)}
    return subprocess.run([sys.executable, "-m", "api.cli", "audit", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def tamper(engine: Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(text(sql))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def test_checkpoint_then_verify_detects_and_names(fresh, tmp_path):
    url, engine = fresh
    cp_file = tmp_path / "audit" / "checkpoints.jsonl"

    made = run(url, cp_file, "checkpoint")
    assert made.returncode == 0 and f"seq {ROWS}" in made.stdout, made.stderr
    again = run(url, cp_file, "checkpoint")
    assert again.returncode == 0 and "nothing to checkpoint" in again.stdout
    assert [c.seq for c in read_checkpoints(cp_file, KEY)] == [ROWS]

    ok = run(url, cp_file, "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"chain OK: {ROWS} rows, head seq {ROWS}" in ok.stdout

    with Session(engine) as db:
        at_10 = db.scalar(select(AuditEntry.at).where(AuditEntry.seq == 10))
    since = at_10.astimezone(timezone(timedelta(hours=8))).isoformat()
    ranged = run(url, cp_file, "verify", "--from", since, "--to", "30")
    assert ranged.returncode == 0 and "chain OK: 21 rows, head seq 30" in ranged.stdout, ranged.stderr

    # An edited field: named by seq and reason; undone afterwards.
    tamper(engine, "UPDATE audit_log SET outcome = outcome || 'x' WHERE seq = 23")
    edited = run(url, cp_file, "verify")
    assert edited.returncode == 1
    assert "first bad row seq 23 (hash_mismatch)" in edited.stderr, edited.stderr
    assert run(url, cp_file, "verify", "--to", "22").returncode == 0  # the range before it is fine
    tamper(engine, "UPDATE audit_log SET outcome = left(outcome, -1) WHERE seq = 23")

    # A truncated tail: only the checkpoint file knows; it is named.
    tamper(engine, f"DELETE FROM audit_log WHERE seq > {ROWS - 5}")
    cut = run(url, cp_file, "verify")
    assert cut.returncode == 1
    assert f"first bad row seq {ROWS} (truncated)" in cut.stderr, cut.stderr
    assert f"rows after seq {ROWS - 5} are missing" in cut.stderr
    assert f"checkpoint #1 in {cp_file} (seq {ROWS}" in cut.stderr
    refused = run(url, cp_file, "checkpoint")
    assert refused.returncode == 1 and "behind the last checkpoint" in refused.stderr

    # A damaged checkpoint file is reported too, with its line.
    cp_file.write_text(cp_file.read_text().replace('"seq":40', '"seq":35'))
    damaged = run(url, cp_file, "verify")
    assert damaged.returncode == 1 and "checkpoints BAD" in damaged.stderr and "line 1" in damaged.stderr


def test_verify_refuses_unclear_bounds(fresh, tmp_path):
    url, _ = fresh
    naive = run(url, tmp_path / "cp.jsonl", "verify", "--from", "2026-01-05T08:00")
    assert naive.returncode == 2 and "offset" in naive.stderr
    backwards = run(url, tmp_path / "cp.jsonl", "verify", "--from", "9", "--to", "3")
    assert backwards.returncode == 2
    missing = run(url, tmp_path / "cp.jsonl", "verify")
    assert missing.returncode == 1 and "not found" in missing.stderr
    # The chain alone still verifies when the file is not to be checked.
    assert run(url, tmp_path / "cp.jsonl", "verify", "--no-checkpoints").returncode == 0
