"""What a service function needs from the call that owns the transaction."""
from __future__ import annotations

from dataclasses import dataclass
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

    @property
    def principal(self) -> Principal:
        if self.request.principal is None:
            raise Unauthorized("authentication required")
        return self.request.principal

    def record(self, action: str, object_type: str | None = None, object_id: object = None, *,
               outcome: str = "ok", detail: dict[str, Any] | None = None) -> None:
        self.audit.record(self.db, self.request, action=action, object_type=object_type,
                          object_id=object_id, outcome=outcome, detail=detail)
