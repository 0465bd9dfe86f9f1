"""Password guessing over real HTTP (issue 12, hole 4): the account locks after the
configured failures, even for the right password, with Retry-After; so does the
guessing address across many names. The rules are tested in detail in
tests/api/test_auth.py; this is the same through a real server process."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from core.settings import Settings
from tests.conftest import migrated_database
from tests.factories import PASSWORD, World, build_world, seed
from tests.servers import start_server


@pytest.fixture(scope="module")
def server(server_url: str) -> Iterator[tuple[str, World]]:
    settings = Settings()
    with migrated_database(server_url, "zj_login_abuse") as url:
        from core.clock import SystemClock

        world = seed(url, lambda db: build_world(db, settings, SystemClock()))
        proc, base = start_server(url, ZHIJIAO_LOGIN_MAX_FAILURES="3", ZHIJIAO_LOGIN_SOURCE_MAX_FAILURES="8",
                                  ZHIJIAO_JOBS_ENABLED="false")
        try:
            yield base, world
        finally:
            proc.terminate()
            proc.wait(10)


def test_guessing_locks_the_account_then_the_address(server) -> None:
    base, world = server
    name = world.users["officer_a"].username
    with httpx.Client(base_url=base, timeout=30) as http:
        for _ in range(3):
            assert http.post("/auth/login", json={"username": name, "password": "guess-guess"}).status_code == 401
        locked = http.post("/auth/login", json={"username": name, "password": PASSWORD})
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0, locked.text
        # Spraying other names from the same address: the address locks too, so
        # even an unlocked account cannot be reached from it.
        statuses = [http.post("/auth/login", json={"username": f"spray-{i}", "password": "guess-guess"}).status_code
                    for i in range(6)]
        assert statuses[-1] == 429, statuses
        other = http.post("/auth/login", json={"username": world.users["manager"].username, "password": PASSWORD})
        assert other.status_code == 429 and "Retry-After" in other.headers
