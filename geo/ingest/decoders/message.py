"""What every decoder takes and gives: one signature for all protocols.

A route reads the request once (bounded body, content type, query string,
headers) into a ``DeviceMessage``; ``decode(message) -> Decoded`` of each
protocol module does all protocol reading, so the routes never parse bodies.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from core.text import text_problem
from geo.ingest.errors import DecodeError
from geo.ingest.fix import DecodedFix


@dataclass(frozen=True, slots=True)
class DeviceMessage:
    """One request as a device (or an officer's upload) sent it."""

    body: bytes = b""
    content_type: str = ""
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    datum: str = "wgs84"  # declared by the route, for formats that carry none (GPX)


# JSON can carry NUL or a surrogate only as a \u escape (raw control
# characters are invalid JSON and refused by the parser).
_RISKY_ESCAPES = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])")


def plain_json(body: bytes) -> bool:
    """True when a JSON body cannot decode to text PostgreSQL refuses (no NUL, no surrogate escape)."""
    return isinstance(body, (bytes, bytearray)) and _RISKY_ESCAPES.search(body) is None


@dataclass(frozen=True, slots=True)
class Decoded:
    """The fixes of one message, and the device key where the protocol carries it in the message."""

    fixes: list[DecodedFix]
    device_key: str | None = None
    # The decoder saw the raw JSON and it holds no escape that could decode to
    # NUL or a lone surrogate: the per-value walk below can be skipped. It is
    # a third of the decode time of a 1,000-fix batch, on the hot path.
    plain_json: bool = False

    def __post_init__(self) -> None:
        if self.plain_json:
            return
        # Checked here, where every decoder hands its result over, so that no
        # protocol can pass on text PostgreSQL cannot store (NUL in OsmAnd
        # ``extras``, a lone surrogate in a native fix id): a DecodeError
        # naming the fix, not a 500 from COPY.
        problem = text_problem(self.device_key)
        if problem:
            raise DecodeError("id", f"the device key {problem}")
        for i, fix in enumerate(self.fixes):
            problem = text_problem(fix.client_fix_id)
            if problem:
                raise DecodeError(f"fixes[{i}].id", problem)
            problem = text_problem(fix.raw)
            if problem:
                raise DecodeError(f"fixes[{i}]", f"a text value of the fix {problem}")
