"""The live alert websocket against a real uvicorn server (in a thread, port 0).

Committed data must be visible to the server, so this module has its own
migrated database (not the rolled-back ``db`` fixture). The server shares the
test's ManualClock, so a ticket expires by advancing the clock, not by sleeping.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from alerts.hub import SENT_WINDOW, HubClient
from alerts.models import AlertEvent
from alerts.raising import raise_alert
from alerts.relay import stamp_batch
from core.audit import AuditEntry
from core.clock import ManualClock
from core.principal import Principal
from core.db import sqlalchemy_url
from core.settings import Settings
from supervision.models import User
from tests.conftest import migrated_database
from tests.factories import World, build_world

ORIGIN = "http://127.0.0.1:8000"
TIMEOUT = 10.0


# --- a real server in a thread ---------------------------------------------------

class ThreadServer:
    """uvicorn on 127.0.0.1:<free port> in a thread with its own event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                                    lifespan="on", ws_ping_interval=None))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.server.serve(),), daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + TIMEOUT
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.http, self.ws = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws/alerts"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(TIMEOUT)

    def call(self, coro: Any) -> Any:
        """Run a coroutine on the server's loop (e.g. publish straight to its bus)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT)


@dataclass
class Env:
    url: str
    engine: Engine
    clock: ManualClock
    world: World
    server: ThreadServer
    settings: Settings

    def ticket(self, who: str) -> str:
        r = httpx.post(self.server.http + "/ws/tickets", headers=self.world.auth(who))
        assert r.status_code == 201, r.text
        body = r.json()
        assert 0 < body["expires_in"] <= 30
        return body["ticket"]


@pytest.fixture(scope="module")
def env(server_url: str) -> Iterator[Env]:
    from api.app import create_app

    with migrated_database(server_url, "zj_hub") as url:
        engine = create_engine(sqlalchemy_url(url), pool_size=10)
        clock = ManualClock()
        settings = Settings()
        # One server for the whole module buys many tickets per officer; the ticket
        # rate limit has its own tests (tests/abuse/test_rate_limits.py).
        settings.api.heavy_route_burst = 100_000
        with Session(engine, expire_on_commit=False) as db:
            world = build_world(db, settings, clock)
            db.commit()
        app = create_app(settings, clock=clock, engine=engine)
        try:
            with ThreadServer(app) as server:
                yield Env(url, engine, clock, world, server, settings)
        finally:
            engine.dispose()


# --- client helpers ----------------------------------------------------------------

@asynccontextmanager
async def stream(uri: str, ticket: str, last_seq: int | None = None, **kwargs: Any) -> AsyncIterator[ClientConnection]:
    async with connect(uri, origin=ORIGIN, open_timeout=TIMEOUT, **kwargs) as ws:
        await ws.send(json.dumps({"type": "auth", "ticket": ticket, "last_seq": last_seq}))
        yield ws


async def recv(ws: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_events(ws: ClientConnection, done: Any, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    """Collect event messages until ``done(events)`` is true."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not done(events):
        message = await recv(ws, max(0.01, deadline - time.monotonic()))
        if message["type"] == "event":
            events.append(message)
    return events


async def close_code(ws: ClientConnection, timeout: float = TIMEOUT) -> tuple[int | None, str | None]:
    """Read until the server closes; its close code and reason."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except ConnectionClosed as exc:
        return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, None)


def raise_alerts(env: Env, who: list[str]) -> list[int]:
    """Commit one new alert per entry of ``who`` (supervisee keys), in one transaction."""
    ids = []
    with Session(env.engine, expire_on_commit=False) as db:
        for key in who:
            s = env.world.supervisees[key]
            alert, created = raise_alert(
                db, now=env.clock.now(), supervisee_id=s.id, office_id=s.office_id, tier=s.tier,
                kind="curfew_breach", cause=f"test:{uuid.uuid4().hex}", title=f"test alert for {key}",
                occurred_at=env.clock.now(), flap_limit=env.settings.alerts.flap_limit_per_hour)
            assert created
            ids.append(alert.id)
        db.commit()
    return ids


def wait_published(env: Env) -> int:
    """Wait until the relay has stamped and published every event; the max seq."""
    deadline = time.monotonic() + TIMEOUT
    with Session(env.engine) as db:
        while db.scalar(select(func.count()).where(AlertEvent.published_at.is_(None))):
            assert time.monotonic() < deadline, "relay did not publish"
            db.rollback()
            time.sleep(0.02)
        return db.scalar(select(func.max(AlertEvent.seq))) or 0


# --- Origin and tickets ------------------------------------------------------------

async def test_origin_not_allowed_is_refused(env: Env) -> None:
    for headers in ({"origin": "https://evil.example"}, {}):
        with pytest.raises(InvalidStatus) as info:
            async with connect(env.server.ws, open_timeout=TIMEOUT, **headers):
                pass
        assert info.value.response.status_code == 403


def test_ticket_needs_a_bearer_token_and_a_staff_role(env: Env) -> None:
    assert httpx.post(env.server.http + "/ws/tickets").status_code == 401
    assert httpx.post(env.server.http + "/ws/tickets", headers=env.world.auth("admin")).status_code == 403
    assert httpx.post(env.server.http + "/ws/tickets", headers=env.world.auth("supervisee_a")).status_code == 403


async def test_ticket_is_single_use(env: Env) -> None:
    ticket = env.ticket("officer_a")
    async with stream(env.server.ws, ticket) as ws:
        assert (await recv(ws))["type"] == "snapshot"
    async with stream(env.server.ws, ticket) as ws:
        assert await close_code(ws) == (1008, "invalid or expired ticket")


async def test_ticket_expires_after_30_seconds(env: Env) -> None:
    ticket = env.ticket("officer_a")
    env.clock.advance(seconds=31)
    async with stream(env.server.ws, ticket) as ws:
        assert await close_code(ws) == (1008, "invalid or expired ticket")


async def test_garbage_ticket_and_missing_auth_are_refused(env: Env) -> None:
    async with stream(env.server.ws, "x" * 43) as ws:
        assert (await close_code(ws))[0] == 1008
    async with connect(env.server.ws, origin=ORIGIN) as ws:
        await ws.send(json.dumps({"type": "pong"}))
        assert (await close_code(ws))[0] == 1008


# --- snapshot, scope, resume --------------------------------------------------------

async def test_snapshot_holds_open_alerts_in_scope_and_is_audited(env: Env) -> None:
    in_a = raise_alerts(env, ["a", "a2"])
    in_b = raise_alerts(env, ["b"])
    top = wait_published(env)
    async with stream(env.server.ws, env.ticket("officer_a")) as ws:
        snapshot = await recv(ws)
    assert snapshot["type"] == "snapshot" and snapshot["seq"] >= top
    ids = {a["id"] for a in snapshot["alerts"]}
    assert set(in_a) <= ids and not ids & set(in_b)
    assert all(a["office_id"] == env.world.office_a.id for a in snapshot["alerts"])
    with Session(env.engine) as db:
        audited = db.scalar(select(func.count()).where(
            AuditEntry.action == "alerts.stream", AuditEntry.actor_id == env.world.users["officer_a"].id))
    assert audited >= 1


async def test_officer_receives_all_of_own_office_and_none_of_another(env: Env) -> None:
    rng = random.Random(4)
    sockets = {who: stream(env.server.ws, env.ticket(who)) for who in ("officer_a", "officer_b", "manager")}
    conns = {who: await cm.__aenter__() for who, cm in sockets.items()}
    try:
        for ws in conns.values():
            assert (await recv(ws))["type"] == "snapshot"
        raised: dict[str, list[int]] = {"a": [], "b": []}
        remaining = 200
        while remaining:  # 200 alerts in commits of random size, randomly over both offices
            batch = [rng.choice(["a", "a2", "b"]) for _ in range(min(remaining, rng.randint(1, 15)))]
            for key, alert_id in zip(batch, raise_alerts(env, batch)):
                raised["b" if key == "b" else "a"].append(alert_id)
            remaining -= len(batch)
        every = set(raised["a"]) | set(raised["b"])
        created = lambda evs: {e["alert_id"] for e in evs if e["event"] == "created"}  # noqa: E731
        manager = await recv_events(conns["manager"], lambda evs: created(evs) >= every)
        officer_a = await recv_events(conns["officer_a"], lambda evs: created(evs) >= set(raised["a"]))
        officer_b = await recv_events(conns["officer_b"], lambda evs: created(evs) >= set(raised["b"]))
        # Anything still in flight to the officers would have been sent before this
        # marker: an alert in office B, which officer_a must never see.
        marker = raise_alerts(env, ["b"])[0]
        officer_b += await recv_events(conns["officer_b"], lambda evs: marker in created(evs))
        await asyncio.sleep(0.2)
        for who, evs in (("officer_a", officer_a), ("officer_b", officer_b), ("manager", manager)):
            seqs = [e["seq"] for e in evs]
            assert seqs == sorted(set(seqs)), f"{who}: out of order or duplicated"
        assert created(officer_a) == set(raised["a"])
        assert not {e["alert_id"] for e in officer_a} & (set(raised["b"]) | {marker})
        assert created(officer_b) == set(raised["b"]) | {marker}
        assert all(e["alert"]["office_id"] == env.world.office_a.id for e in officer_a)
        assert len(officer_a) + len(officer_b) >= 201
    finally:
        for cm in sockets.values():
            await cm.__aexit__(None, None, None)


async def test_reconnect_with_last_seq_receives_everything_missed_once(env: Env) -> None:
    async with stream(env.server.ws, env.ticket("officer_a")) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        first = raise_alerts(env, ["a"] * 5)
        seen = await recv_events(ws, lambda evs: len(evs) == 5)
    assert [e["alert_id"] for e in seen] == first
    last_seq = seen[-1]["seq"]
    missed = raise_alerts(env, ["a", "b", "a2"] * 4)  # while disconnected
    wait_published(env)
    missed_a = [i for i, k in zip(missed, ["a", "b", "a2"] * 4) if k != "b"]
    async with stream(env.server.ws, env.ticket("officer_a"), last_seq) as ws:
        replayed = []
        while (message := await recv(ws))["type"] != "resumed":
            replayed.append(message)
        assert message["from_seq"] == last_seq and message["count"] == len(replayed)
        assert [e["alert_id"] for e in replayed] == missed_a
        later = raise_alerts(env, ["a2", "a"])
        live = await recv_events(ws, lambda evs: len(evs) == 2)
    assert [e["alert_id"] for e in live] == later
    seqs = [e["seq"] for e in seen + replayed + live]
    assert seqs == sorted(set(seqs)) and seqs[0] > 0


async def test_reconnects_during_a_stream_of_commits_lose_and_repeat_nothing(env: Env) -> None:
    """Subscribe-before-read: events committed while a client connects arrive
    through the replay and the bus both, and are sent exactly once."""
    expected: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set() and len(expected) < 120:
            expected.extend(raise_alerts(env, ["a"] * random.randint(1, 3)))
            time.sleep(0.005)

    async with stream(env.server.ws, env.ticket("officer_a")) as ws:
        last_seq = (await recv(ws))["seq"]
    thread = threading.Thread(target=writer)
    thread.start()
    received: list[dict[str, Any]] = []
    try:
        for _ in range(6):  # several short connections, each resuming from the last seq seen
            async with stream(env.server.ws, env.ticket("officer_a"), last_seq) as ws:
                got = await recv_events(ws, lambda evs: len(evs) >= 10)
            received += got
            last_seq = got[-1]["seq"]
    finally:
        stop.set()
        thread.join()
    wait_published(env)
    async with stream(env.server.ws, env.ticket("officer_a"), last_seq) as ws:
        received += await recv_events(ws, lambda evs: {e["alert_id"] for e in received + evs} >= set(expected))
    seqs = [e["seq"] for e in received]
    assert seqs == sorted(set(seqs)), "an event was delivered twice or out of order"
    assert [e["alert_id"] for e in received if e["event"] == "created"] == expected


# --- flow control and limits ---------------------------------------------------------

@contextmanager
def hub_settings(env: Env, **values: Any) -> Iterator[None]:
    old = {k: getattr(env.settings.hub, k) for k in values}
    for k, v in values.items():
        setattr(env.settings.hub, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(env.settings.hub, k, v)


async def test_slow_client_is_closed_with_resync_and_others_keep_up(env: Env) -> None:
    count = 800
    path = env.world.office_a.path
    delivery = env.server.app.state.delivery

    async def flood() -> None:
        # Straight onto this server's bus: ~6 KB of incompressible detail each.
        base = 10**12 + random.randrange(10**9)
        for i in range(count):
            await delivery.bus.publish(env.settings.hub.bus_channel, {
                "seq": base + i, "event": "evidence", "alert_id": -1, "office_id": env.world.office_a.id,
                "office_path": path, "alert": {"id": -1}, "detail": {"pad": os.urandom(2900).hex()}})
            if i % 10 == 9:
                await asyncio.sleep(0.002)  # let the hub and the fast socket run, as a real relay would

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # keep the kernel from buffering megabytes
    sock.connect(("127.0.0.1", int(env.server.ws.rsplit(":", 1)[1].split("/")[0])))
    with hub_settings(env, ws_queue_cap=50):
        async with stream(env.server.ws, env.ticket("officer_a"), sock=sock, max_queue=1, compression=None) as slow, \
                stream(env.server.ws, env.ticket("officer_a"), compression=None) as fast:
            assert (await recv(slow))["type"] == "snapshot"
            assert (await recv(fast))["type"] == "snapshot"
            reader = asyncio.create_task(recv_events(fast, lambda evs: len(evs) == count, timeout=30))
            await asyncio.to_thread(env.server.call, flood())
            assert len(await reader) == count  # the fast socket got every event
            assert await close_code(slow) == (4000, "resync")


async def test_heartbeat_pings(env: Env) -> None:
    with hub_settings(env, ws_heartbeat_seconds=0.2):
        async with stream(env.server.ws, env.ticket("officer_a")) as ws:
            assert (await recv(ws))["type"] == "snapshot"
            ping = await recv(ws, timeout=2)
            assert ping["type"] == "ping" and isinstance(ping["seq"], int)
            await ws.send(json.dumps({"type": "pong"}))
            assert (await recv(ws, timeout=2))["type"] == "ping"  # a pong is fine


async def test_oversize_and_too_fast_client_messages_close_the_socket(env: Env) -> None:
    async with stream(env.server.ws, env.ticket("officer_a")) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        await ws.send(json.dumps({"type": "pong", "pad": "x" * 5000}))
        assert await close_code(ws) == (1009, "message too big")
    async with stream(env.server.ws, env.ticket("officer_a")) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        for _ in range(30):
            await ws.send(json.dumps({"type": "pong"}))
        assert await close_code(ws) == (1008, "too many messages")
    async with stream(env.server.ws, env.ticket("officer_a")) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        await ws.send("not json")
        assert (await close_code(ws))[0] == 1008


# --- delivery fixes: lost or late events, stale identities ---------------------------

async def test_events_a_dead_leader_stamped_but_never_published_are_published_by_the_next(env: Env) -> None:
    relay = env.server.app.state.delivery.relay
    async with stream(env.server.ws, env.ticket("officer_a")) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        await asyncio.to_thread(env.server.call, relay.stop())  # the leader goes away...
        try:
            [alert_id] = raise_alerts(env, ["a"])
            with Session(env.engine) as db:  # ...right after stamping and committing
                [message] = stamp_batch(db)
                db.commit()
            with Session(env.engine) as db:
                event = db.scalar(select(AlertEvent).where(AlertEvent.seq == message["seq"]))
                assert event is not None and event.alert_id == alert_id and event.published_at is None
        finally:
            await asyncio.to_thread(env.server.call, relay.start())  # a new leader takes over
        [got] = await recv_events(ws, lambda evs: len(evs) == 1)
    assert (got["seq"], got["alert_id"], got["event"]) == (message["seq"], alert_id, "created")
    wait_published(env)  # and it is marked published, so it is not sent again


def test_socket_tells_repeats_from_late_events_within_a_bounded_memory() -> None:
    client = HubClient(principal=Principal(1, "u", "officer", 1, "1/"), queue=asyncio.Queue())
    client.start_at(100)  # the snapshot/replay covered up to 100
    assert client.verdict(50) == "repeat" and client.verdict(101) == "send"
    sent = list(range(102, 102 + 6 * SENT_WINDOW, 2))  # seqs may have holes
    for seq in sent:
        client.sent(seq)
    assert client.verdict(sent[-1]) == client.verdict(sent[-SENT_WINDOW]) == "repeat"
    assert client.verdict(sent[-1] - 1) == "gap"  # never sent: not silently dropped
    assert client.verdict(sent[0]) == "gap"  # forgotten: a resync at worst, never a loss
    assert len(client._sent) <= 2 * SENT_WINDOW


def _fake_event(env: Env, seq: int) -> dict[str, Any]:
    return {"seq": seq, "event": "evidence", "alert_id": -1, "office_id": env.world.office_a.id,
            "office_path": env.world.office_a.path, "alert": {"id": -1}, "detail": {}}


async def test_a_late_lower_seq_closes_with_resync_and_a_repeat_is_dropped(env: Env) -> None:
    """A leader that lost its lock mid-publish can put a seq on the bus after a
    higher one: the socket must not drop it silently as if it were a repeat."""
    bus, channel = env.server.app.state.delivery.bus, env.settings.hub.bus_channel
    base = 2 * 10**12 + random.randrange(10**9)
    async with stream(env.server.ws, env.ticket("officer_a")) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        await asyncio.to_thread(env.server.call, bus.publish(channel, _fake_event(env, base + 2)))
        assert (await recv(ws))["seq"] == base + 2
        for seq in (base + 2, base + 1):  # a repeat (dropped), then one never sent
            await asyncio.to_thread(env.server.call, bus.publish(channel, _fake_event(env, seq)))
        assert await recv(ws) == {"type": "resync", "seq": base}  # the repeat was not sent
        assert await close_code(ws) == (4000, "resync")


async def test_a_deactivated_or_moved_user_is_closed_with_reauthenticate(env: Env) -> None:
    officer = env.world.users["officer_a"]

    def set_user(**values: Any) -> None:
        with Session(env.engine) as db:
            user = db.get(User, officer.id)
            for k, v in values.items():
                setattr(user, k, v)
            db.commit()

    with hub_settings(env, ws_recheck_seconds=0.1):
        async with stream(env.server.ws, env.ticket("officer_a")) as ws:  # unchanged: stays open
            assert (await recv(ws))["type"] == "snapshot"
            await asyncio.sleep(0.5)
            [alert_id] = raise_alerts(env, ["a"])
            assert (await recv_events(ws, lambda evs: len(evs) == 1))[0]["alert_id"] == alert_id
        for change, undo in (({"active": False}, {"active": True}),
                             ({"jurisdiction_id": env.world.office_b.id}, {"jurisdiction_id": officer.jurisdiction_id})):
            async with stream(env.server.ws, env.ticket("officer_a")) as ws:
                assert (await recv(ws))["type"] == "snapshot"
                set_user(**change)
                try:
                    assert await close_code(ws, timeout=5) == (4001, "reauthenticate"), change
                finally:
                    set_user(**undo)


async def test_a_session_ends_at_the_access_token_lifetime(env: Env) -> None:
    minutes = env.settings.auth.access_token_minutes
    with hub_settings(env, ws_recheck_seconds=0.1):
        async with stream(env.server.ws, env.ticket("officer_a")) as ws:
            assert (await recv(ws))["type"] == "snapshot"
            start = env.clock.now()
            try:
                env.clock.advance(minutes=minutes - 1)
                with pytest.raises(TimeoutError):  # not yet
                    await recv(ws, timeout=0.5)
                env.clock.advance(minutes=1)
                assert await close_code(ws, timeout=5) == (4001, "reauthenticate")
            finally:
                env.clock.set(start)  # the world's bearer tokens are valid at the start time only


async def test_a_socket_ends_at_its_bearer_tokens_expiry(env: Env) -> None:
    """Issue 12, hole 3: the ticket was bought with a token two minutes from its
    expiry, so the socket ends then, not a full token lifetime after it opened."""
    from core.security import issue_access_token

    officer = env.world.users["officer_a"]
    minutes = env.settings.auth.access_token_minutes
    old = issue_access_token(env.settings.auth, user_id=officer.id, role=officer.role,
                             now=env.clock.now() - timedelta(minutes=minutes - 2)).token
    r = httpx.post(env.server.http + "/ws/tickets", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 201, r.text
    with hub_settings(env, ws_recheck_seconds=0.1):
        async with stream(env.server.ws, r.json()["ticket"]) as ws:
            assert (await recv(ws))["type"] == "snapshot"
            start = env.clock.now()
            try:
                env.clock.advance(minutes=1)
                with pytest.raises(TimeoutError):  # not yet
                    await recv(ws, timeout=0.5)
                env.clock.advance(minutes=1, seconds=1)
                assert await close_code(ws, timeout=5) == (4001, "reauthenticate")
            finally:
                env.clock.set(start)


async def test_a_password_change_closes_the_users_open_sockets(env: Env) -> None:
    """Issue 12, hole 3: the periodic re-check sees the revoked session."""
    from tests.factories import PASSWORD

    officer = env.world.users["officer_b"]
    new_password = "another long passphrase"
    with hub_settings(env, ws_recheck_seconds=0.1):
        async with stream(env.server.ws, env.ticket("officer_b")) as ws:
            assert (await recv(ws))["type"] == "snapshot"
            r = httpx.patch(f"{env.server.http}/users/{officer.id}", json={"password": new_password},
                            headers=env.world.auth("officer_b"))
            assert r.status_code == 200, r.text
            try:
                assert await close_code(ws, timeout=5) == (4001, "reauthenticate")
            finally:
                # Later tests use officer_b: the old password back, and a fresh token.
                def login(password: str) -> dict[str, str]:
                    r = httpx.post(env.server.http + "/auth/login",
                                   json={"username": officer.username, "password": password})
                    return {"Authorization": f"Bearer {r.json()['access_token']}"}

                httpx.patch(f"{env.server.http}/users/{officer.id}", json={"password": PASSWORD},
                            headers=login(new_password))
                env.world.tokens["officer_b"] = login(PASSWORD)["Authorization"].removeprefix("Bearer ")
