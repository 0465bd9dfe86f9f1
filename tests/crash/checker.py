"""The crash test's checker: what the clients were told against what the database holds.

It reads only what a client could know (the fix ids it got acknowledged, the
events its socket showed) and the database afterwards, and reports:

- ``lost``: acknowledged fixes that are not stored (must be 0);
- ``duplicates``: fixes stored more than once for one device and id (must be 0);
- ``violation_errors``: supervisees whose count of exclusion-zone alerts is not
  their ground truth (exactly 1 for each who entered the zone, 0 otherwise);
- ``undelivered``: alerts of an officer's office their socket never showed
  (neither in a snapshot nor as an event);
- ``shown_twice``: alerts a client, deduplicating by seq as a client does, would
  still have shown twice (two different "created" events for one alert);
- ``audit_ok``: ``zhijiao audit verify`` exit status.
"""
from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
VIOLATION_KIND = "entered_exclusion_zone"


@dataclass
class Watched:
    """What one officer's client saw, deduplicated by seq the way a client does."""

    office_id: int
    shown: set[int] = field(default_factory=set)  # alert ids displayed (snapshot or event)
    created_seqs: dict[int, set[int]] = field(default_factory=dict)  # alert id -> seqs of its "created" events
    seqs: set[int] = field(default_factory=set)
    redelivered: int = 0  # events received again after a reconnect (allowed: at least once)
    connections: int = 0

    def event(self, seq: int, kind: str, alert_id: int) -> None:
        if seq in self.seqs:
            self.redelivered += 1
            return
        self.seqs.add(seq)
        self.shown.add(alert_id)
        if kind == "created":
            self.created_seqs.setdefault(alert_id, set()).add(seq)

    def snapshot(self, alert_ids: list[int]) -> None:
        self.shown.update(alert_ids)


@dataclass
class Report:
    acknowledged: int
    stored: int
    lost: int
    duplicates: int
    violations_expected: int
    violation_errors: dict[int, int]  # supervisee id -> alerts found where the truth differs
    alerts: int
    undelivered: dict[int, list[int]]  # office id -> alert ids
    shown_twice: list[int]
    audit_ok: bool
    audit_output: str

    @property
    def ok(self) -> bool:
        return (self.lost == 0 and self.duplicates == 0 and not self.violation_errors and not self.undelivered
                and not self.shown_twice and self.audit_ok)

    def summary(self) -> dict:
        return {"acknowledged": self.acknowledged, "stored": self.stored, "lost": self.lost,
                "duplicates": self.duplicates, "violations": self.violations_expected,
                "violation_errors": self.violation_errors, "alerts": self.alerts,
                "undelivered": {k: len(v) for k, v in self.undelivered.items()},
                "shown_twice": len(self.shown_twice), "audit_ok": self.audit_ok}


def audit_verify(url: str, checkpoint_path: Path, env: dict[str, str]) -> tuple[bool, str]:
    run = subprocess.run([sys.executable, "-m", "api.cli", "audit", "verify"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120,
                         env={**env, "ZHIJIAO_DATABASE_URL": url, "ZHIJIAO_AUDIT_CHECKPOINT_PATH": str(checkpoint_path)})
    return run.returncode == 0, (run.stdout + run.stderr).strip()


def check(url: str, *, acknowledged: dict[int, set[str]], violators: set[int], supervisees: set[int],
          watchers: list[Watched], audit: tuple[bool, str]) -> Report:
    """``acknowledged``: device id -> fix ids acknowledged; ``violators`` ⊆ ``supervisees``:
    who entered their exclusion zone (ground truth)."""
    with psycopg.connect(url) as conn:
        stored_rows = conn.execute("SELECT device_id, dedup_key, count(*) FROM fixes WHERE device_id = ANY(%s)"
                                   " GROUP BY 1, 2", (list(acknowledged),)).fetchall()
        alerts = conn.execute("SELECT id, supervisee_id, office_id, kind FROM alerts").fetchall()
    stored = {(d, k): n for d, k, n in stored_rows}
    lost = sum(1 for d, keys in acknowledged.items() for k in keys if (d, k) not in stored)
    duplicates = sum(n - 1 for n in stored.values() if n > 1)
    per_supervisee = Counter(s for _, s, _, kind in alerts if kind == VIOLATION_KIND)
    errors = {s: per_supervisee.get(s, 0) for s in supervisees
              if per_supervisee.get(s, 0) != (1 if s in violators else 0)}
    undelivered: dict[int, list[int]] = {}
    for w in watchers:
        missing = sorted(a for a, _, office, _ in alerts if office == w.office_id and a not in w.shown)
        if missing:
            undelivered[w.office_id] = missing
    shown_twice = sorted({a for w in watchers for a, seqs in w.created_seqs.items() if len(seqs) > 1})
    return Report(acknowledged=sum(map(len, acknowledged.values())), stored=sum(stored.values()), lost=lost,
                  duplicates=duplicates, violations_expected=len(violators), violation_errors=errors,
                  alerts=len(alerts), undelivered=undelivered, shown_twice=shown_twice, audit_ok=audit[0],
                  audit_output=audit[1])
