"""The websocket row of the authorization matrix (``WS /ws/alerts``).

A socket session opens its own database connections, so this row runs against a committed
database of its own rather than the rolled-back test transaction. Each principal buys a
ticket with its credential (``POST /ws/tickets``) and opens the socket; the cells say whether
an object is in the snapshot it is sent: ``ok`` = present, ``404`` = absent (A's alert in
scope, X's alert out of scope, a nonexistent alert never). A refused ticket gives its status
for all three, and then a socket opened with a made-up ticket must be refused too.
"""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnect

from tests.conftest import migrated_database
from tests.security import figures
from tests.security.matrix import ROWS
from tests.security.world import PRINCIPALS, MISSING, MatrixWorld, build_matrix_world

ROW = next(r for r in ROWS if r.key == "WS /ws/alerts")


@pytest.fixture(scope="module")
def committed(server_url: str) -> Iterator[tuple[TestClient, MatrixWorld, str]]:
    from api.app import create_app
    from core.clock import ManualClock
    from core.db import sqlalchemy_url
    from core.settings import Settings

    with migrated_database(server_url, "zj_wsmatrix") as url:
        engine = create_engine(sqlalchemy_url(url), pool_size=5)
        settings = Settings()
        settings.api.jobs_enabled = False
        settings.api.allowed_hosts = [*settings.api.allowed_hosts, "testserver"]
        clock = ManualClock()
        try:
            with Session(engine, expire_on_commit=False) as db:
                world = build_matrix_world(db, settings, clock)
                db.commit()
            with TestClient(create_app(settings, clock=clock, engine=engine)) as client:
                yield client, world, settings.api.allowed_origins[0]
        finally:
            engine.dispose()


def _snapshot(client: TestClient, origin: str, ticket: str) -> dict:
    with client.websocket_connect("/ws/alerts", headers={"origin": origin}) as ws:
        ws.send_text(json.dumps({"type": "auth", "ticket": ticket, "last_seq": None}))
        return json.loads(ws.receive_text())


def test_ws_row(committed):
    client, w, origin = committed
    alert_in, alert_out = w.objects["alert"]
    problems = []
    for who in PRINCIPALS:
        r = client.post("/ws/tickets", headers=w.headers(who))
        if r.status_code == 201:
            message = _snapshot(client, origin, r.json()["ticket"])
            assert message["type"] == "snapshot", (who, message)
            seen = {a["id"] for a in message["alerts"]}
            got = tuple("ok" if i in seen else "404" for i in (alert_in, alert_out, MISSING))
        else:
            got = (str(r.status_code),) * 3
            # Without a ticket of its own, a made-up one opens nothing.
            with pytest.raises(WebSocketDisconnect):
                _snapshot(client, origin, "x" * 43)
        figures.add("matrix_cells", 3)
        figures.add("matrix_pairs")
        if got != ROW.expect[who]:
            problems.append(f"{who}: expected {'/'.join(ROW.expect[who])}, got {'/'.join(got)}")
    assert not problems, "\n".join(problems)
