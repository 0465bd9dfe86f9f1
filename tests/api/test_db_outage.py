"""Hole 11 of issue 12: a database outage answers 503 with Retry-After, and logs one
line per request without SQL parameters (a device's credential hash was among them).

A real uvicorn server talks to PostgreSQL through a TCP proxy on 127.0.0.1; the test
cuts the proxy, so pooled connections break mid-use and new ones are refused (a
closed port), as when the database goes down.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from core.security import keyed_hash
from core.settings import Settings
from tests.alerts.test_hub import ORIGIN
from tests.conftest import migrated_database
from tests.factories import World, seed_world_with_device
from tests.servers import TcpProxy, start_server


@dataclass
class Outage:
    base: str
    proxy: TcpProxy
    world: World
    secret: str
    credential_hash: str
    log: Path


@pytest.fixture(scope="module")
def outage(server_url: str, tmp_path_factory) -> Iterator[Outage]:
    with migrated_database(server_url, "zj_outage") as url:
        settings = Settings()
        world, secret = seed_world_with_device(url, settings, "native")
        proxy = TcpProxy(url)
        log = tmp_path_factory.mktemp("outage") / "server.log"
        with log.open("w") as out:
            proc: subprocess.Popen
            proc, base = start_server(proxy.url, log=out, log_level="info")
        try:
            yield Outage(base, proxy, world, secret, keyed_hash(settings.auth.device_key, secret), log)
        finally:
            proc.terminate()
            proc.wait(10)
            proxy.cut()


def _ingest(o: Outage) -> httpx.Response:
    fix = {"id": f"outage-{uuid.uuid4().hex[:8]}", "time": datetime.now(UTC).isoformat(), "lon": 118.95,
           "lat": 28.95, "accuracy": 10}
    return httpx.post(o.base + "/ingest/native", headers={"Authorization": f"Bearer {o.secret}"},
                      json={"fixes": [fix]}, timeout=20)


def _ticket(o: Outage) -> httpx.Response:
    return httpx.post(o.base + "/ws/tickets", headers=o.world.auth("officer_a"), timeout=20)


async def _socket_close(o: Outage) -> int | None:
    async with connect(o.base.replace("http://", "ws://") + "/ws/alerts", origin=ORIGIN, open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "auth", "ticket": "t" * 43, "last_seq": None}))
        try:
            await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed:
            pass
        return ws.close_code


def test_a_database_outage_answers_503_and_logs_no_parameters(outage: Outage) -> None:
    o = outage
    # Warm: pooled connections exist, so the cut breaks them mid-use first.
    assert _ingest(o).status_code == 200
    assert _ticket(o).status_code == 201
    o.proxy.cut()
    answers = [call(o) for _ in range(3) for call in (_ingest, _ticket)]
    for r in answers:
        assert r.status_code == 503, (r.request.url, r.text)
        assert int(r.headers["retry-after"]) > 0
        assert "database unavailable" in r.json()["detail"]
    # The alert socket: the ticket cannot be redeemed, so "retry" (1013), not a crash.
    assert asyncio.run(_socket_close(o)) == 1013
    text = o.log.read_text()
    assert o.credential_hash not in text
    assert o.secret not in text
    assert "[parameters:" not in text and "credential_hash" not in text
    assert "Exception in ASGI application" not in text and "Traceback" not in text
    # One line per failed request, naming the route but not its query.
    lines = [line for line in text.splitlines() if "database unavailable" in line]
    assert sum("/ingest/native" in line for line in lines) == 3, text[-3000:]
    assert sum("/ws/tickets" in line for line in lines) == 3, text[-3000:]
    assert sum("websocket /ws/alerts" in line for line in lines) == 1, text[-3000:]
