"""Hole 5 of issue 12: a body over its route's limit is answered 413 while it is
being read, before any authentication work, over real HTTP (uvicorn on 127.0.0.1)."""
from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import migrated_database
from tests.servers import start_server

HUGE = 256 * 1024 * 1024
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def server(server_url: str) -> Iterator[tuple[subprocess.Popen, str]]:
    with migrated_database(server_url, "zj_body") as url:
        proc, base = start_server(url)
        try:
            yield proc, base
        finally:
            proc.terminate()
            proc.wait(10)


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _declare(base: str, path: str, length: int, headers: str = "") -> tuple[int, bytes, float]:
    """Send only the headers of a request declaring ``length`` body bytes; the status,
    the answer and how long it took. The body is never sent."""
    host, port = base.removeprefix("http://").split(":")
    start = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{headers}"
                  f"Content-Length: {length}\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer or (answer.startswith(b"HTTP/1.1 413") and not answer.endswith(b"}")):
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer, time.monotonic() - start


def test_a_declared_huge_login_body_is_413_without_being_sent(server) -> None:
    _, base = server
    status, answer, took = _declare(base, "/auth/login", HUGE)
    assert status == 413, answer[:300]
    assert took < 2
    assert b"64 KiB" in answer and b"connection: close" in answer.lower()


def test_a_streamed_huge_login_body_is_cut_off_early(server) -> None:
    """No Content-Length (chunked): the server counts as it reads and stops, so
    neither it nor the client moves anything like 256 MiB."""
    proc, base = server
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        while sent < HUGE:
            sent += CHUNK
            yield b"x" * CHUNK

    rss_before = _rss_kib(proc.pid)
    start = time.monotonic()
    r = httpx.post(base + "/auth/login", content=body(), headers={"content-type": "application/json"}, timeout=30)
    took = time.monotonic() - start
    assert r.status_code == 413, r.text[:300]
    assert "64 KiB" in r.json()["detail"]
    assert sent < 16 * 1024 * 1024, f"the client sent {sent} bytes before the answer"
    assert _rss_kib(proc.pid) - rss_before < 64 * 1024, "the server grew by more than 64 MiB"
    assert took < 5


@pytest.mark.parametrize(("path", "length"), [
    ("/ingest/native", 2 * 1024 * 1024 + 1),  # 2 MiB per device batch
    ("/ingest/osmand", 3 * 1024 * 1024),
    ("/ingest/owntracks", 3 * 1024 * 1024),
    ("/supervisees/1/gpx", 33 * 1024 * 1024),  # 32 MiB GPX upload
    ("/supervisees/1/fences", 3 * 1024 * 1024),  # GeoJSON routes: 2 MiB
    ("/leave", 3 * 1024 * 1024),
    ("/users", 65 * 1024),  # JSON routes: 64 KiB
])
def test_over_the_route_limit_is_413_before_authentication(server, path: str, length: int) -> None:
    """No credentials at all, and still 413 (not 401): the limit comes first."""
    _, base = server
    status, answer, _ = _declare(base, path, length)
    assert status == 413, answer[:300]


@pytest.mark.parametrize(("path", "length"), [
    ("/ingest/native", 1024 * 1024),
    ("/supervisees/1/gpx", 20 * 1024 * 1024),
    ("/supervisees/1/fences", 1024 * 1024),
    ("/users", 60 * 1024),
])
def test_within_the_route_limit_the_route_answers(server, path: str, length: int) -> None:
    _, base = server
    r = httpx.post(base + path, content=b" " * length, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code in (401, 422), r.text[:300]


def test_the_ingest_limits_are_the_routes_own() -> None:
    from api.app import BODY_LIMITS
    from api.routes import ingest

    assert BODY_LIMITS.for_path("/ingest/native") == ingest.MAX_BODY
    assert BODY_LIMITS.for_path("/ingest/owntracks") == ingest.MAX_BODY
    assert BODY_LIMITS.for_path("/supervisees/7/gpx") == ingest.MAX_GPX
    assert BODY_LIMITS.for_path("/auth/login") == 64 * 1024
    assert BODY_LIMITS.for_path("/ingest/native/extra") == 64 * 1024
