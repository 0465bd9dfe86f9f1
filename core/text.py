"""Text PostgreSQL can store: the one check shared by request schemas and device decoders."""
from __future__ import annotations

from typing import Any

__all__ = ["text_problem"]

# How deep text_problem looks into nested lists/dicts: far beyond any input
# we accept (a GeoJSON MultiPolygon is 4 deep), and bounded so a hostile
# body cannot make the check itself expensive.
_MAX_DEPTH = 64


def text_problem(value: Any) -> str | None:
    """Why ``value`` (a str, or lists/dicts of them) cannot be stored as PostgreSQL text/JSON, or None."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "must not contain NUL characters"
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800"): no UTF-8 spelling
                    return "must be valid Unicode text (no lone surrogates)"
        elif isinstance(item, (list, tuple, dict)):
            if depth >= _MAX_DEPTH:
                return f"is nested too deeply (at most {_MAX_DEPTH} levels)"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None
