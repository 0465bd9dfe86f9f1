"""The one error a decoder raises: bad client input, reported against a field."""
from __future__ import annotations


class DecodeError(Exception):
    """Input the client sent is malformed; ``field`` is a dotted path such as ``fixes[3].lat``.

    The API layer turns this into a 4xx naming the field, never a 500.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
