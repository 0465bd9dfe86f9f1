"""Two server processes on one database: a fence changed through process 1 is the
one process 2 judges the very next fix against (its cache is refreshed by the
fence generation, not by a message that could be late or lost)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from core.clock import SystemClock
from core.db import sqlalchemy_url
from core.settings import Settings
from geo.ingest.models import Fix
from tests.conftest import migrated_database
from tests.factories import add_device, build_world
from tests.servers import start_server

HOME = (118.95, 28.95)


@pytest.fixture
def two_servers(server_url):
    with migrated_database(server_url, "zj_fencemp") as url:
        engine = create_engine(sqlalchemy_url(url))
        settings = Settings()
        with Session(engine, expire_on_commit=False) as db:
            world = build_world(db, settings, SystemClock())
            _, secret = add_device(db, settings, world.supervisees["a"], "native")
            db.commit()
        procs = [start_server(url), start_server(url)]
        try:
            yield world, secret, procs[0][1], procs[1][1], engine
        finally:
            for proc, _ in procs:
                proc.terminate()
                proc.wait(10)
            engine.dispose()


def _fixes(t0: datetime, tag: str) -> dict:
    return {"fixes": [{"id": f"{tag}{i}", "time": (t0 + timedelta(seconds=20 * i)).isoformat(), "lon": HOME[0],
                       "lat": HOME[1], "accuracy": 10} for i in range(3)]}


def test_fence_changed_on_one_process_is_judged_on_the_other(two_servers):
    world, secret, p1, p2, engine = two_servers
    sup = world.supervisees["a"]
    officer = world.auth("officer_a")
    device = {"Authorization": f"Bearer {secret}"}
    r = httpx.post(f"{p1}/supervisees/{sup.id}/fences", headers=officer,
                   json={"kind": "exclusion", "circle": {"lon": 119.2, "lat": 28.7, "radius_m": 200}, "datum": "wgs84"})
    assert r.status_code == 201, r.text
    fence_id = r.json()["id"]
    # Process 2 judges (and caches) version 1: home is far outside the zone.
    assert httpx.post(f"{p2}/ingest/native", headers=device, json=_fixes(datetime.now(UTC), "a")).status_code == 200
    # Process 1 moves the zone onto the home.
    r = httpx.post(f"{p1}/fences/{fence_id}/versions", headers=officer,
                   json={"circle": {"lon": HOME[0], "lat": HOME[1], "radius_m": 500}, "datum": "wgs84"})
    assert r.status_code in (200, 201), r.text
    # The very next fixes through process 2 are judged against version 2.
    assert httpx.post(f"{p2}/ingest/native", headers=device, json=_fixes(datetime.now(UTC), "b")).status_code == 200
    with Session(engine) as db:
        rows = db.scalars(select(Fix).where(Fix.supervisee_id == sup.id).order_by(Fix.t)).all()
    versions = {(row.dedup_key[0], d[1], d[2]) for row in rows for d in row.decisions if d[0] == fence_id}
    assert versions == {("a", 1, 2), ("b", 2, 1)}, versions  # (batch, version, decision: 1 inside / 2 outside)
