"""The browser every console test uses; each module gives its own ``server`` (and world)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.browser import AppServer, Browser


@pytest.fixture
def browser(server: AppServer) -> Iterator[Browser]:
    """Fails the test if any page asked another host or threw an uncaught error."""
    b = Browser(server.base)
    try:
        yield b
    finally:
        b.close()
    assert b.foreign == [], f"requests to other hosts: {b.foreign}"
    assert b.errors == [], f"errors in the pages: {b.errors}"
