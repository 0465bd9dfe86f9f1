"""Pub/sub between server processes: one interface, backends chosen by URL.

    bus = bus_from_url(settings.bus_url)   # memory:// | postgresql://... | nats://host:4222
    await bus.connect()
    async with bus.subscribe("alerts") as messages:
        async for message in messages: ...
    await bus.publish("alerts", {"id": 42})
"""
from __future__ import annotations

from urllib.parse import urlsplit

from .base import (
    MAX_MESSAGE_BYTES,
    Bus,
    BusDisconnectedError,
    BusGapError,
    BusOverflowError,
    Subscription,
    validate_channel,
)

__all__ = [
    "MAX_MESSAGE_BYTES", "Bus", "BusDisconnectedError", "BusGapError", "BusOverflowError",
    "Subscription", "bus_from_url", "validate_channel",
]


def bus_from_url(url: str) -> Bus:
    """Build an unconnected bus for ``url``; the caller awaits ``connect()``."""
    scheme = urlsplit(url).scheme.lower()
    # Backends are imported lazily so memory:// needs neither psycopg nor nats-py.
    if scheme == "memory":
        from .memory import MemoryBus
        return MemoryBus()
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        from .postgres import PostgresBus
        return PostgresBus(url)
    if scheme == "nats":
        from .nats import NatsBus
        return NatsBus(url)
    raise ValueError(
        # Name only the scheme: the rest of the URL may hold a password.
        f"unknown bus URL scheme {scheme!r}: use memory://, postgresql:// or nats://"
    )
