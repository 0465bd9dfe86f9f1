"""Counters the security suites fill in and the terminal summary prints (tests/security/conftest.py)."""
from __future__ import annotations

COUNTS: dict[str, int] = {}


def add(name: str, n: int = 1) -> None:
    COUNTS[name] = COUNTS.get(name, 0) + n


def lines() -> list[str]:
    labels = {"matrix_table_cells": "authorization matrix cells in the table",
              "matrix_cells": "authorization matrix cells run", "matrix_pairs": "out-of-scope/nonexistent pairs "
              "compared byte for byte", "fuzz_cases": "Schemathesis cases sent", "fuzz_roles": "roles fuzzed",
              "parser_cases": "Hypothesis cases on decoders, GPX and GeoJSON",
              "matrix_list_checks": "list answers checked for what they show and hide"}
    return [f"security suites: {labels.get(k, k)}: {v:,}" for k, v in sorted(COUNTS.items())]
