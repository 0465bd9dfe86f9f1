"""Runs every cell of the authorization matrix (tests/security/matrix.py) against the real app.

Each cell runs inside a savepoint of the test's transaction that is rolled back after it, so
an approval or a retirement in one cell cannot change what the next one sees. A 404 must be
byte-identical to the nonexistent object's answer for the same caller. The websocket row runs
against a committed database (its sessions open their own connections): test_ws_matrix.py.
"""
from __future__ import annotations

import os
import re

import pytest

from tests.security import figures
from tests.security.matrix import ROWS, Row
from tests.security.world import PRINCIPALS, MatrixWorld, isolated

OBJECTS = ("in", "out", "missing")
# The objects outside each principal's jurisdiction: X's for bureau 1, A's for officer X, and
# both for officer B and supervisee a2 (A's object is another office's / another person's).
FOREIGN = {"xbur": ("in",), "other": ("in", "out"), "sup2": ("in", "out")}
SHOW = os.environ.get("ZHIJIAO_MATRIX_SHOW") == "1"


def app_routes(app) -> set[str]:
    """Every route the app serves, as "METHOD /path" ("WS /path" for websockets), however nested."""
    from starlette.routing import WebSocketRoute

    def walk(routes, prefix=""):
        for r in routes:
            inner = getattr(r, "original_router", None)  # FastAPI's included router
            if inner is not None:
                yield from walk(inner.routes, prefix + r.include_context.prefix)
            else:
                yield prefix, r

    found = set()
    for prefix, r in walk(app.routes):
        if isinstance(r, WebSocketRoute) or type(r).__name__ == "APIWebSocketRoute":
            found.add(f"WS {prefix}{r.path}")
            continue
        for method in getattr(r, "methods", None) or ():
            if method != "HEAD":
                found.add(f"{method} {prefix}{r.path}")
    return found


def request_of(row: Row, w: MatrixWorld, who: str, which: str) -> dict:
    target = w.target(row.obj, which) if row.obj else None
    url = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: row.fixed.get(m[1], str(target)), row.path)
    headers = w.headers(who)
    params = row.query(w, which) if row.query else None
    if who == "dev" and row.device_auth == "osmand":
        headers, params = {}, {**(params or {}), "id": w.secrets["osmand"]}
    elif who == "dev" and row.device_auth == "owntracks":
        headers = w.owntracks_headers()
    # A redirect is an answer of its own (a page route's), not the page it points to.
    req = {"method": row.method, "url": url, "headers": headers, "params": params, "follow_redirects": False}
    if row.body:
        req["json"] = row.body(w, which)
    if row.content:
        req["content"] = row.content(w, which)
        req["headers"] = {**headers, "content-type": "application/gpx+xml"}
    return req


def outcome(status: int) -> str:
    # 202 is not "done": the request waits for a second person, which is what the row asserts.
    return "ok" if 200 <= status < 300 and status != 202 else str(status)


def show(row: Row, got: dict[str, tuple[str, ...]]) -> str:
    cells = []
    for who in PRINCIPALS:
        answers = got[who]
        if answers == ("ok", "404", "404"):
            cells.append("ok")
        elif len(set(answers)) == 1:
            cells.append(answers[0])
        else:
            cells.append("/".join(answers))
    return f'row("{row.key}", "{" ".join(cells)}")'


def listing_problems(row: Row, w: MatrixWorld, who: str, body: dict) -> list[str]:
    """A list shows the caller's own object and never one outside its jurisdiction."""
    ids = {item["id"] for item in body["items"]}
    foreign = ("in", "out") if who in row.sees_none else FOREIGN.get(who, ("out",))
    problems = []
    for which in ("in", "out"):
        figures.add("matrix_list_checks")
        shown = w.target(row.lists, which) in ids
        if which in foreign and shown:
            problems.append(f"{who}: the list shows the {which}-of-scope {row.lists}")
        elif which not in foreign and not shown:
            problems.append(f"{who}: the list does not show the {which}-scope {row.lists} it may see")
    return problems


HTTP_ROWS = [r for r in ROWS if r.method != "WS"]


@pytest.mark.parametrize("row", HTTP_ROWS, ids=[r.key for r in HTTP_ROWS])
def test_row(row: Row, client, db, mworld):
    got: dict[str, tuple[str, ...]] = {}
    problems = []
    for who in PRINCIPALS:
        answers = {}
        for which in OBJECTS if row.obj else ("in",):
            r = isolated(client, db, request_of(row, mworld, who, which))
            figures.add("matrix_cells")
            assert r.status_code < 500, (row.key, who, which, r.status_code, r.text[:300])
            answers[which] = r
        got[who] = tuple(outcome(r.status_code) for r in answers.values())
        if row.obj:
            # Someone else's object must answer exactly as nobody's does, whatever the status
            # (a 422 for an id in a body too), and so must every 404.
            missing = answers["missing"]
            figures.add("matrix_pairs")
            for which, r in answers.items():
                if (r.status_code == 404 or which in FOREIGN.get(who, ("out",))) and \
                        (r.status_code, r.content) != (missing.status_code, missing.content):
                    problems.append(f"{who}/{which}: differs from the nonexistent answer: {r.content!r} "
                                    f"vs {missing.content!r}")
        if row.lists and got[who] == ("ok",):
            problems += listing_problems(row, mworld, who, answers["in"].json())
        if got[who] != row.expect[who]:
            texts = [f"{which}: {r.text[:160]}" for which, r in answers.items()]
            problems.append(f"{who}: expected {'/'.join(row.expect[who])}, got {'/'.join(got[who])} ({texts})")
    if SHOW:
        print("\nMATRIX " + show(row, got))
    assert not problems, "\n".join([row.key, *problems])


def test_every_route_of_the_app_has_a_row(app):
    served = app_routes(app)
    assert len({r.key for r in ROWS}) == len(ROWS), "a route has two rows of the same case"
    table = {r.route for r in ROWS}
    assert not served - table, f"routes without a row in tests/security/matrix.py: {sorted(served - table)}"
    assert not table - served, f"rows for routes the app does not serve: {sorted(table - served)}"


def test_cell_count():
    cells = sum(len(PRINCIPALS) * (3 if r.obj else 1) for r in ROWS)
    figures.add("matrix_table_cells", cells)
    assert cells > 1000
