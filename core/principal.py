"""Who is asking: the authenticated caller, as every service function sees it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    role: str
    jurisdiction_id: int
    # Materialised path of the caller's jurisdiction ("1/5/"): scope prefix.
    jurisdiction_path: str
    supervisee_id: int | None = None
    # The user's session version (users.token_version): a change ends sessions.
    token_version: int = 0


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who did it and from where: what every audit row records."""

    principal: Principal | None
    request_id: str | None = None
    source_addr: str | None = None
