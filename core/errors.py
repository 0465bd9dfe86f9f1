"""Errors a caller can cause, mapped to HTTP answers in one place (api.app)."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """Also what out-of-scope looks like: the body never says which it was."""

    status = 404

    def __init__(self) -> None:
        super().__init__("not found")


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409


class Invalid(ServiceError):
    status = 422


class Unauthorized(ServiceError):
    status = 401


class TooManyRequests(ServiceError):
    """Throttled: the answer carries Retry-After."""

    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class Busy(ServiceError):
    """The server is saturated for this kind of work; try again shortly."""

    status = 503

    def __init__(self, message: str, *, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after
