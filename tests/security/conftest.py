"""Fixtures of the security suites: the two-bureau world (tests/security/world.py)."""
from __future__ import annotations

import pytest


@pytest.fixture
def settings(settings):
    # The matrix registers a webhook; its URL is a loopback one (never another address).
    settings.alerts.webhook_allow_loopback = True
    return settings


@pytest.fixture
def mworld(db, settings, clock, client):
    from tests.security.world import build_matrix_world, seed_through_the_api

    w = build_matrix_world(db, settings, clock)
    db.commit()
    seed_through_the_api(client, db, w, clock.now(), settings)
    return w


def pytest_terminal_summary(terminalreporter):
    """The suites' figures, for the README: matrix cells run and fuzz cases sent."""
    from tests.security import figures

    for line in figures.lines():
        terminalreporter.write_line(line)
