"""A paced HTTP/1.1 load generator on raw asyncio sockets, for background load in benchmarks.

httpx costs more CPU per request than the server's own route does, so a
thread pool of httpx clients cannot send one-fix requests at a phone fleet's
rate on the same two cores. Here each of ``connections`` keep-alive sockets
sends its share of a fixed schedule (open loop: request k is due at k / rate,
however slow the answers are; a late connection sends as soon as it can) and
counts answers by status.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit


def request_bytes(host: str, path: str, token: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, keep-alive) of one response, its body read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    if length:
        await reader.readexactly(length)
    return status, not close


async def run_load(base: str, make_request: Callable[[int], bytes], *, rate: float, seconds: float,
                   connections: int = 64) -> dict:
    """Send request k = make_request(k) at k / rate for ``seconds``; {"requests", "statuses", "errors",
    "unsent", "seconds"}. The run ends at ``seconds`` whatever the server's pace: requests a slow server
    left no time for are counted as unsent, not queued (the load would outlast the measurement)."""
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    statuses: Counter[int] = Counter()
    errors = unsent = 0
    start = time.perf_counter()
    stop_at = start + seconds
    total = int(rate * seconds)

    async def connection(c: int) -> None:
        nonlocal errors, unsent
        reader = writer = None
        for k in range(c, total, connections):
            if time.perf_counter() >= stop_at:
                unsent += len(range(k, total, connections))
                break
            if (wait := start + k / rate - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(make_request(k))
                status, keep = await _read_response(reader)
                statuses[status] += 1
                if not keep:
                    writer.close()
                    reader = writer = None
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection(c) for c in range(connections)))
    return {"requests": sum(statuses.values()), "statuses": dict(statuses), "errors": errors, "unsent": unsent,
            "seconds": time.perf_counter() - start}
