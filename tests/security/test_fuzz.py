"""Schemathesis against the app's own /openapi.json, once per role, with real tokens and the ids of
existing objects in the path (so cases reach the services instead of stopping at 404).

Every answer must be a non-5xx, with a status, content type and body the document declares
(api/openapi_errors.py documents the error answers). Each case runs in a savepoint that is
rolled back, so cases cannot change what later ones see.

Short run (in ./dev test): SHORT_EXAMPLES cases per operation and role, positive and negative.
Long run: ``ZHIJIAO_FUZZ_LONG=1 ./dev test tests/security/test_fuzz.py -s`` (LONG_EXAMPLES each;
``ZHIJIAO_FUZZ_EXAMPLES=N`` sets any other number). Both print the number of cases run.
"""
from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from tests.security import figures
from tests.security.matrix import PATH_OBJECTS
from tests.security.world import MatrixWorld, isolated

SHORT_EXAMPLES = 3
LONG_EXAMPLES = 150
EXAMPLES = int(os.environ.get("ZHIJIAO_FUZZ_EXAMPLES") or (LONG_EXAMPLES if os.environ.get("ZHIJIAO_FUZZ_LONG") == "1"
                                                            else SHORT_EXAMPLES))
# The roles that reach different code: an officer (office), a manager (bureau), the auditor
# (read-only), the administrator (accounts, no location data), a supervisee (own record), a
# device (ingest only) and nobody.
ROLES = ("same", "mgr", "aud", "admin", "sup", "dev", "anon")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
_TRANSPORT_KEYS = {"method", "url", "headers", "params", "cookies", "json", "data", "files"}

def _operations(app):
    schema = schemathesis.openapi.from_dict(app.openapi())
    return [result.ok() for result in schema.get_all_operations()]


def _request(case, headers: dict[str, str]) -> dict:
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    request = {k: v for k, v in kwargs.items() if k in _TRANSPORT_KEYS}
    if isinstance(request.get("data"), (bytes, str)):
        request["content"] = request.pop("data")
    return request


def _strategy(operation, w: MatrixWorld, who: str):
    params = {name: w.target(kind, "in") for name, kind in PATH_OBJECTS.items()
              if "{" + name + "}" in operation.path}
    headers = w.headers(who)
    strategies = [operation.as_strategy(generation_mode=mode, path_parameters=params or None,
                                        headers=headers or None)
                  for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    return st.one_of(strategies)


@pytest.mark.parametrize("who", ROLES)
def test_fuzz_role(who, app, client, db, mworld):
    failures: list[str] = []
    ops = _operations(app)
    for operation in ops:
        strategy = _strategy(operation, mworld, who)
        headers = mworld.headers(who)

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=EXAMPLES <= SHORT_EXAMPLES,
                  suppress_health_check=list(HealthCheck), phases=["generate"])
        @given(case=strategy)
        def run(case):
            response = isolated(client, db, _request(case, headers))
            figures.add("fuzz_cases")
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Exception, BaseExceptionGroup) as exc:  # one line per distinct failure, then carry on
                summary = re.sub(r"\s+", " ", str(exc))[:300]
                failures.append(f"{operation.method.upper()} {operation.path} [{who}] "
                                f"{response.status_code}: {summary}")

        run()
    figures.add("fuzz_roles")
    print(f"\nfuzz[{who}]: {len(ops)} operations, {figures.COUNTS.get('fuzz_cases', 0)} cases so far ({EXAMPLES} per operation)")
    distinct = sorted(set(failures))
    assert not distinct, f"{len(distinct)} distinct failures:\n" + "\n".join(distinct[:40])
