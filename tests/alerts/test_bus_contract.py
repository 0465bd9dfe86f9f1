"""One contract, every bus backend: memory, Postgres LISTEN/NOTIFY, NATS JetStream.

Postgres comes from the ``server_url`` fixture (tests/conftest.py). NATS comes from
ZHIJIAO_TEST_NATS_URL (default nats://127.0.0.1:4222, JetStream enabled); if it is
unreachable the NATS cases fail, unless ZHIJIAO_TEST_ALLOW_NO_NATS=1 lets them skip.
Every test uses fresh uuid channel names, so parallel runs cannot see each other.

"Receives nothing" is checked with a marker message instead of a sleep: publish
the unwanted message first, then a marker on the subscribed channel; since order
per publisher is part of the contract, the marker must be the first arrival.
"""
from __future__ import annotations

import asyncio
import math
import os
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from alerts.bus import (
    MAX_MESSAGE_BYTES,
    Bus,
    BusDisconnectedError,
    BusOverflowError,
    Subscription,
    bus_from_url,
)
from alerts.bus import base as bus_base

TIMEOUT = 5.0


@pytest.fixture(scope="session")
def nats_url() -> str:
    url = os.environ.get("ZHIJIAO_TEST_NATS_URL", "nats://127.0.0.1:4222")
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout=2).close()
    except OSError as exc:
        if os.environ.get("ZHIJIAO_TEST_ALLOW_NO_NATS") == "1":
            pytest.skip(f"NATS unreachable at {url} ({exc}); allowed by ZHIJIAO_TEST_ALLOW_NO_NATS=1")
        pytest.fail(
            f"NATS unreachable at {url} ({exc}): start `nats-server -js`, point "
            "ZHIJIAO_TEST_NATS_URL at one, or set ZHIJIAO_TEST_ALLOW_NO_NATS=1 to skip"
        )
    return url


@pytest.fixture(params=["memory", "postgres", "nats"])
def bus_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "postgres":
        return request.getfixturevalue("server_url")
    return request.getfixturevalue("nats_url")


@pytest.fixture
async def bus(bus_url: str) -> AsyncIterator[Bus]:
    b = bus_from_url(bus_url)
    await b.connect()
    yield b
    await b.close()


def new_channel(prefix: str = "test") -> str:
    return f"{prefix}.{uuid.uuid4().hex}"


async def receive(sub: Subscription, count: int = 1) -> list[dict[str, Any]]:
    async def take() -> list[dict[str, Any]]:
        return [await anext(sub) for _ in range(count)]
    return await asyncio.wait_for(take(), TIMEOUT)


# --- contract ---------------------------------------------------------------


async def test_round_trip(bus: Bus) -> None:
    channel = new_channel()
    message = {"event": "zone_exit", "id": 42, "name": "张三", "ok": True, "at": None, "xy": [1.5, -2]}
    async with bus.subscribe(channel) as sub:
        await bus.publish(channel, message)
        assert await receive(sub) == [message]


async def test_longest_valid_channel(bus: Bus) -> None:
    channel = (f"t.{uuid.uuid4().hex}.a-b_c:d" + "x" * 60)[:60]
    async with bus.subscribe(channel) as sub:
        await bus.publish(channel, {"n": 1})
        assert await receive(sub) == [{"n": 1}]


async def test_every_subscriber_gets_every_message(bus: Bus) -> None:
    channel = new_channel()
    async with bus.subscribe(channel) as first, bus.subscribe(channel) as second:
        for n in range(3):
            await bus.publish(channel, {"n": n})
        expected = [{"n": n} for n in range(3)]
        assert await receive(first, 3) == expected
        assert await receive(second, 3) == expected


async def test_subscribers_get_independent_copies(bus: Bus) -> None:
    channel = new_channel()
    async with bus.subscribe(channel) as first, bus.subscribe(channel) as second:
        await bus.publish(channel, {"tags": ["a"]})
        (got,) = await receive(first)
        got["tags"].append("mutated")
        assert await receive(second) == [{"tags": ["a"]}]


async def test_order_preserved(bus: Bus) -> None:
    channel = new_channel()
    async with bus.subscribe(channel) as sub:
        for n in range(200):
            await bus.publish(channel, {"n": n})
        assert [m["n"] for m in await receive(sub, 200)] == list(range(200))


async def test_channel_isolation(bus: Bus) -> None:
    a, b = new_channel("a"), new_channel("b")
    async with bus.subscribe(a) as sub_a, bus.subscribe(b) as sub_b:
        await bus.publish(b, {"for": "b"})
        await bus.publish(a, {"for": "a"})
        assert await receive(sub_a) == [{"for": "a"}]
        assert await receive(sub_b) == [{"for": "b"}]


async def test_prefix_channel_is_a_different_channel(bus: Bus) -> None:
    # "x.y" must not leak into "x" (NATS subjects are hierarchical, LISTEN is not).
    parent = new_channel()
    async with bus.subscribe(parent) as sub:
        await bus.publish(parent + ".child", {"for": "child"})
        await bus.publish(parent, {"for": "parent"})
        assert await receive(sub) == [{"for": "parent"}]


async def test_subscribe_churn_does_not_stall_delivery(bus: Bus) -> None:
    # Regression: the Postgres listener once spent all its time on LISTEN/UNLISTEN
    # while other tasks kept subscribing, and never read a notification.
    channel, stop = new_channel(), asyncio.Event()

    async def churn() -> None:
        while not stop.is_set():
            async with bus.subscribe(new_channel("churn")):
                pass
            await asyncio.sleep(0)

    async with bus.subscribe(channel) as sub:
        churners = [asyncio.create_task(churn()) for _ in range(3)]
        try:
            for n in range(300):
                await bus.publish(channel, {"n": n})
            assert [m["n"] for m in await receive(sub, 300)] == list(range(300))
        finally:
            stop.set()
            await asyncio.gather(*churners)


async def test_subscriber_sees_only_later_messages(bus: Bus) -> None:
    channel = new_channel()
    await bus.publish(channel, {"n": "before"})
    async with bus.subscribe(channel) as sub:
        await bus.publish(channel, {"n": "after"})
        assert await receive(sub) == [{"n": "after"}]


async def test_size_cap(bus: Bus) -> None:
    channel = new_channel()
    overhead = len('{"p":""}')
    at_cap = {"p": "x" * (MAX_MESSAGE_BYTES - overhead)}
    async with bus.subscribe(channel) as sub:
        with pytest.raises(ValueError, match=f"{MAX_MESSAGE_BYTES + 1} bytes.*cap"):
            await bus.publish(channel, {"p": "x" * (MAX_MESSAGE_BYTES - overhead + 1)})
        with pytest.raises(ValueError, match="cap"):  # bytes, not characters: 2,400 chars = 7,200 bytes
            await bus.publish(channel, {"p": "中" * 2400})
        await bus.publish(channel, at_cap)
        assert await receive(sub) == [at_cap]


async def test_only_json_objects(bus: Bus) -> None:
    channel = new_channel()
    with pytest.raises(TypeError, match="dict"):
        await bus.publish(channel, ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="JSON"):
        await bus.publish(channel, {"x": math.nan})
    with pytest.raises(TypeError):
        await bus.publish(channel, {"x": object()})


@pytest.mark.parametrize(
    "channel",
    ["", "Alerts", "a b", "a..b", ".a", "a.", "a*", "a.>", 'a";drop', "é", "x" * 61, "a\n"],
)
async def test_bad_channel_rejected(bus: Bus, channel: str) -> None:
    with pytest.raises(ValueError, match="invalid bus channel"):
        await bus.publish(channel, {})
    with pytest.raises(ValueError, match="invalid bus channel"):
        async with bus.subscribe(channel):
            pass


async def test_close_is_clean(bus_url: str) -> None:
    before = asyncio.all_tasks()
    bus = bus_from_url(bus_url)
    await bus.connect()
    channel = new_channel()

    async def consume() -> list[dict[str, Any]]:
        async with bus.subscribe(channel) as sub:
            ready.set()
            return [m async for m in sub]

    ready = asyncio.Event()
    consumer = asyncio.create_task(consume())
    await asyncio.wait_for(ready.wait(), TIMEOUT)
    await bus.publish(channel, {"n": 1})
    await asyncio.sleep(0.05)  # let it arrive; close() then ends the iteration
    await bus.close()
    assert await asyncio.wait_for(consumer, TIMEOUT) == [{"n": 1}]
    await bus.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        await bus.publish(channel, {})
    with pytest.raises(RuntimeError, match="closed"):
        async with bus.subscribe(channel):
            pass
    await asyncio.sleep(0.05)
    leftover = {t for t in asyncio.all_tasks() - before if not t.done()} - {asyncio.current_task()}
    assert not leftover, leftover


async def test_unconnected_bus_refuses_work(bus_url: str) -> None:
    bus = bus_from_url(bus_url)
    with pytest.raises(RuntimeError, match="not connected"):
        await bus.publish(new_channel(), {})


async def test_cross_instance(bus_url: str) -> None:
    if bus_url.startswith("memory:"):
        pytest.skip("memory:// is in-process by design; see test_memory_instances_are_separate")
    async with bus_from_url(bus_url) as publisher, bus_from_url(bus_url) as subscriber:
        channel = new_channel()
        async with subscriber.subscribe(channel) as sub:
            for n in range(5):
                await publisher.publish(channel, {"n": n})
            assert await receive(sub, 5) == [{"n": n} for n in range(5)]


def test_unknown_scheme() -> None:
    with pytest.raises(ValueError, match="'redis'") as info:
        bus_from_url("redis://user:secret@host/0")
    assert "secret" not in str(info.value)


# --- backend-specific -------------------------------------------------------


async def test_memory_instances_are_separate() -> None:
    async with bus_from_url("memory://") as one, bus_from_url("memory://") as other:
        channel = new_channel()
        async with other.subscribe(channel) as sub_other, one.subscribe(channel) as sub_one:
            await one.publish(channel, {"from": "one"})
            await other.publish(channel, {"from": "other"})
            assert await receive(sub_other) == [{"from": "other"}]
            assert await receive(sub_one) == [{"from": "one"}]


async def test_memory_slow_subscriber_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bus_base, "MAX_PENDING", 5)
    async with bus_from_url("memory://") as bus:
        channel = new_channel()
        async with bus.subscribe(channel) as sub:
            for n in range(7):
                await bus.publish(channel, {"n": n})
            assert await receive(sub, 5) == [{"n": n} for n in range(5)]
            with pytest.raises(BusOverflowError, match="resubscribe"):
                await receive(sub)


async def test_postgres_listener_reconnects(server_url: str) -> None:
    async with bus_from_url(server_url) as bus:
        channel = new_channel()
        async with bus.subscribe(channel) as sub:
            # The listener's last statement was LISTEN on our unique channel.
            async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as admin:
                cur = await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'zhijiao-bus' AND query = %s",
                    (f'LISTEN "zj.{channel}"',),
                )
                assert [row[0] for row in await cur.fetchall()] == [True]
            # Notifications may have been lost: the subscriber is told, not left guessing.
            with pytest.raises(BusDisconnectedError, match="missed"):
                await receive(sub)
        # Resubscribing waits for the reconnect, then works as before.
        async with bus.subscribe(channel) as sub:
            await bus.publish(channel, {"n": "again"})
            assert await receive(sub) == [{"n": "again"}]
