"""The crash test: kill -9 the server at random moments while devices send fixes and
officers watch their alert sockets; afterwards nothing acknowledged is lost or
doubled, every violation is exactly one alert, every alert reached its officer
and was shown once, and the audit chain verifies.

A few cycles run in ``./dev test``; the long run is

    ZHIJIAO_CRASH_CYCLES=200 ./dev test tests/crash -s

(``ZHIJIAO_CRASH_SEED`` repeats a run's kill moments). Each run prints one
``crash-test {...}`` line with its figures. The negative control runs the same
harness with the test-only switch that acknowledges before committing, and
asserts that the checker reports the losses.
"""
from __future__ import annotations

import json
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from core.settings import Settings
from tests.conftest import migrated_database
from tests.crash.checker import Report, audit_verify, check
from tests.crash.harness import (
    DeviceClient, OfficerWatchers, Server, kill_loop, seed_crash_world, track_start,
)
from tests.servers import start_server

CYCLES = int(os.environ.get("ZHIJIAO_CRASH_CYCLES", "4"))
SEED = int(os.environ.get("ZHIJIAO_CRASH_SEED", str(random.randrange(1 << 30))))
DELIVERY_WAIT = 30.0


@dataclass
class Outcome:
    report: Report
    kills: int
    figures: dict


def _all_shown(url: str, watchers: OfficerWatchers) -> bool:
    with psycopg.connect(url) as conn:
        alerts = conn.execute("SELECT id, office_id FROM alerts").fetchall()
    return all(a in watchers.watched[o].shown for a, o in alerts if o in watchers.watched)


def crash_run(server_url: str, tmp: Path, *, cycles: int, seed: int, **env: str) -> Outcome:
    settings = Settings()
    rng = random.Random(seed)
    with migrated_database(server_url, "zj_crash") as url:
        world = seed_crash_world(url, settings)
        checkpoints = tmp / "checkpoints.jsonl"
        log = (tmp / "server.log").open("a")
        server_env = {"ZHIJIAO_AUDIT_CHECKPOINT_PATH": str(checkpoints), **env}
        # Restarts on a machine loaded by other work can take a while; the clients just retry.
        server = Server(lambda port: start_server(url, log=log, port=port, startup=120, **server_env))
        server.up()
        stop_devices = threading.Event()
        t0 = track_start()
        devices = [DeviceClient(server.base, d, t0, stop_devices) for d in world.devices]
        watchers = OfficerWatchers(server.base, world.officers)
        started = time.monotonic()
        try:
            watchers.start()
            for d in devices:
                d.start()
            kill_loop(server, cycles, rng)
            stop_devices.set()
            for d in devices:
                d.join(120)
                assert not d.is_alive() and d.error is None, d.error
            deadline = time.monotonic() + DELIVERY_WAIT
            while not _all_shown(url, watchers) and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            watchers.stop.set()
            watchers.join(10)
            stop_devices.set()
            server.stop()
            log.close()
        assert watchers.error is None, watchers.error
        report = check(url, acknowledged={d.device.device_id: d.acknowledged for d in devices},
                       violators={d.supervisee_id for d in world.devices if d.violates},
                       supervisees={d.supervisee_id for d in world.devices},
                       watchers=list(watchers.watched.values()),
                       audit=audit_verify(url, checkpoints, {**os.environ, **server_env}))
        statuses: dict[str, int] = {}
        for d in devices:
            for k, n in d.statuses.items():
                statuses[k] = statuses.get(k, 0) + n
        figures = {"kill_cycles": server.kills, "seed": seed, "seconds": round(time.monotonic() - started, 1),
                   **report.summary(),
                   "socket_connections": sum(w.connections for w in watchers.watched.values()),
                   "events_redelivered": sum(w.redelivered for w in watchers.watched.values()),
                   "requests": statuses,
                   "startup_s_max": round(max(server.startup_s), 2), **({"unsafe": True} if env else {})}
        print("crash-test " + json.dumps(figures, ensure_ascii=False))
        return Outcome(report, server.kills, figures)


def test_kill_9_loses_and_doubles_nothing(server_url: str, tmp_path: Path) -> None:
    outcome = crash_run(server_url, tmp_path, cycles=CYCLES, seed=SEED)
    report = outcome.report
    assert outcome.kills == CYCLES
    assert report.acknowledged > 0 and report.violations_expected > 0
    assert report.lost == 0 and report.duplicates == 0, outcome.figures
    assert not report.violation_errors, outcome.figures
    assert not report.undelivered and not report.shown_twice, outcome.figures
    assert report.audit_ok, report.audit_output
    assert report.ok


def test_negative_control_acknowledging_before_commit_is_caught(server_url: str, tmp_path: Path) -> None:
    """The checker can fail: with the test-only switch the server answers before its
    commit (which follows half a second later), so each kill loses acknowledged fixes."""
    outcome = crash_run(server_url, tmp_path, cycles=3, seed=SEED, ZHIJIAO_UNSAFE_ACK_BEFORE_COMMIT="true")
    assert outcome.report.lost > 0, outcome.figures
    assert not outcome.report.ok


def test_production_refuses_the_unsafe_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    from api import cli
    from core.settings import get_settings

    monkeypatch.setenv("ZHIJIAO_UNSAFE_ACK_BEFORE_COMMIT", "true")
    get_settings.cache_clear()
    try:
        with pytest.raises(typer.BadParameter, match="loses acknowledged"):
            cli.serve(host="127.0.0.1", port=1, workers=1)
    finally:
        get_settings.cache_clear()
