"""What a service function needs from the call that owns the transaction."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.clock import Clock
from core.errors import Unauthorized
from core.principal import Principal, RequestContext
from core.settings import Settings


@dataclass
class Ctx:
    db: Session
    request: RequestContext
    audit: AuditLog
    settings: Settings
    clock: Clock
    # Refusal rows recorded in this transaction: if it is rolled back (the
    # request was refused), the owner of the transaction writes them again.
    _refusals: list[dict[str, Any]] = field(default_factory=list, repr=False)
    # Other writes a refusal must keep (a failed-login counter): run after the rollback.
    _kept: list[Callable[[Session], None]] = field(default_factory=list, repr=False)

    @property
    def principal(self) -> Principal:
        if self.request.principal is None:
            raise Unauthorized("authentication required")
        return self.request.principal

    def record(self, action: str, object_type: str | None = None, object_id: object = None, *,
               outcome: str = "ok", detail: dict[str, Any] | None = None) -> None:
        self.audit.record(self.db, self.request, action=action, object_type=object_type,
                          object_id=object_id, outcome=outcome, detail=detail)
        if outcome != "ok":
            self._refusals.append(dict(action=action, object_type=object_type, object_id=object_id,
                                       outcome=outcome, detail=detail))

    def keep_on_refusal(self, write: Callable[[Session], None]) -> None:
        """Run ``write`` in the refusal's own transaction if this request is refused."""
        self._kept.append(write)

    def take_kept(self) -> list[Callable[[Session], None]]:
        """The writes to keep (and forget them)."""
        kept, self._kept = self._kept, []
        return kept

    def take_refusals(self) -> list[dict[str, Any]]:
        """The refusal rows recorded so far (and forget them)."""
        rows, self._refusals = self._refusals, []
        return rows
