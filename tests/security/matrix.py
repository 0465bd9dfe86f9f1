"""The authorization matrix: every route of the app × 13 principals × 3 objects, with the answer expected.

How to read a row
-----------------
``row(ROUTE, EXPECT, ...)``: ROUTE is "METHOD /path" exactly as the app declares it
("WS /path" for a websocket). EXPECT holds one cell per principal, in this order
(tests/security/world.py says who they are):

    same  other xbur  mgr   aud   admin sup   sup2  dev   anon  exp   dis   pwd

The objects are one in scope (supervisee a's, office A, bureau 1), one out of scope
(supervisee x's, office X, bureau 2) and a nonexistent id. A cell is

* ``ok``          in scope answers 2xx (but 202); out of scope and nonexistent answer 404, byte-identical
* ``202``         accepted, not done: it waits for someone else (a manager's approval, the bureau's review)
* ``in/out/missing`` three answers spelt out, e.g. ``404/ok/404`` (officer X reaches only X's object),
  each ``ok`` (2xx) or a status code
* ``403``, ``401``… the same status for all three objects

A route with no object (a list, a login, ingest) has one answer per principal: ``ok`` or a code.
A list names the kind of its items with ``lists=``: each ``ok`` answer must then hold the
objects the caller may see (by "id") and none of those it may not.
Every answer given as 404 must be byte-identical to the nonexistent one: a caller cannot tell
"someone else's" from "nobody's".

Adding a route
--------------
Add one ``row(...)`` below (a test fails while any route of the app has none); a route whose
answer depends on the request (the role of a new account, a password in a PATCH) has one row
per such request, each named by ``case=``. Name the
object with ``obj=`` when the id is not in the path (``ref="body.supervisee_id"`` says
where it goes), and give ``body=`` / ``query=`` functions of (world, which) that make a
valid request, ``which`` being "in", "out" or "missing", so an ``ok`` really reaches the
action. Run ``ZHIJIAO_MATRIX_SHOW=1 ./dev test tests/security/test_matrix.py`` to print
the answers the app gives as rows, then check every ``ok`` against the law and the
roles table in DOMAIN.md before pasting: the table is the specification, not a recording.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core.localtime import LOCAL_TZ
from tests.security.world import PRINCIPALS, MatrixWorld, destination

# Path parameter -> object kind (tests/security/world.py MatrixWorld.objects).
PATH_OBJECTS = {"supervisee_id": "supervisee", "jurisdiction_id": "jurisdiction", "user_id": "user",
                "device_id": "device", "fence_id": "fence", "alert_id": "alert", "webhook_id": "webhook",
                "leave_id": "leave", "permit_id": "permit", "request_id": "account_request",
                "registration_id": "registration", "occurrence_id": "occurrence", "entry_id": "ledger_entry",
                "hold_id": "legal_hold",
                "camera_id": "camera", "snapshot_id": "camera_snapshot",
                "sanction_id": "sanction", "assessment_id": "assessment", "proposal_id": "tier_proposal",
                "order_id": "order"}

Maker = Callable[[MatrixWorld, str], Any]


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expect: dict[str, tuple[str, ...]]  # principal -> answers (3 for object routes, 1 otherwise)
    obj: str | None
    ref: str | None
    body: Maker | None
    query: Maker | None
    content: Maker | None  # raw body (GPX)
    device_auth: str  # how the "dev" principal authenticates: bearer, osmand, owntracks
    case: str  # which request of several to the same route ("" for the only one)
    fixed: dict[str, str]  # path parameters that name no object (a page's file), by name
    lists: str | None  # a list route: the object kind its items are (their "id"s are checked)
    sees_none: tuple[str, ...]  # principals whose list shows neither object (it answers, empty)

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def key(self) -> str:
        return f"{self.route} [{self.case}]" if self.case else self.route


def _parse(cell: str, has_object: bool) -> tuple[str, ...]:
    parts = tuple(cell.split("/"))
    if not has_object:
        assert len(parts) == 1, cell
        return parts
    if len(parts) == 3:
        return parts
    assert len(parts) == 1, cell
    return ("ok", "404", "404") if cell == "ok" else (cell,) * 3


def row(route: str, expect: str, *, obj: str | None = None, ref: str | None = None, body: Maker | None = None,
        query: Maker | None = None, content: Maker | None = None, device_auth: str = "bearer", case: str = "",
        fixed: dict[str, str] | None = None, lists: str | None = None, sees_none: tuple[str, ...] = ()) -> Row:
    method, path = route.split(" ", 1)
    params = [p for p in re.findall(r"\{(\w+)(?::\w+)?\}", path) if p not in (fixed or {})]
    if params and obj is None:
        obj = PATH_OBJECTS[params[0]]
    cells = expect.split()
    assert len(cells) == len(PRINCIPALS), f"{route}: {len(cells)} cells for {len(PRINCIPALS)} principals"
    return Row(method, path, {p: _parse(c, obj is not None) for p, c in zip(PRINCIPALS, cells)}, obj, ref, body,
               query, content, device_auth, case, fixed or {}, lists, sees_none)


# --- request bodies --------------------------------------------------------------------

_n = iter(range(1, 10**9))


def _later(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def _leave(w: MatrixWorld, which: str) -> dict:
    return {"supervisee_id": w.target("supervisee", which), "destination": destination(), "reason": "探亲",
            "depart_at": _later(10), "return_at": _later(12)}  # not overlapping the seeded request


def _camera(w: MatrixWorld, which: str) -> dict:
    return {"code": f"MX-{next(_n)}", "name": "新摄像头", "lon": 118.9, "lat": 28.9, "heading": 90, "fov": 90,
            "range_m": 80, "url": "rtsp://127.0.0.22:9/live", "jurisdiction_id": w.target("jurisdiction", which)}


def _camera_csv(w: MatrixWorld, which: str) -> bytes:
    return (f"code,name,lon,lat,datum,heading,fov,range,url\nMI-{next(_n)},导入,118.9,28.9,wgs84,0,90,80,"
            f"rtsp://127.0.0.23:9/live\n").encode()


def _permit(w: MatrixWorld, which: str) -> dict:
    # The local date (the service's "today"): from 16:00 UTC the UTC date is already yesterday.
    today = datetime.now(LOCAL_TZ).date()
    return {"supervisee_id": w.target("supervisee", which), "area": destination(118.3, 28.9, 3000),
            "reason": "上班", "weekdays": [0, 1], "start_time": "08:00", "end_time": "18:00",
            "valid_from": today.isoformat(), "valid_until": (today + timedelta(days=30)).isoformat()}


def _supervisee(w: MatrixWorld, which: str) -> dict:
    from tests.factories import national_id

    return {"name": "新人", "national_id": national_id(), "sentence_type": "probation", "term_start": "2026-01-01",
            "term_end": "2027-06-30", "office_id": w.target("jurisdiction", which)}


def _user(role: str, kind: str = "jurisdiction") -> Maker:
    """A new account (no password: the user redeems an activation code) of ``role`` at the object."""
    return lambda w, which: {"username": f"matrix-new-{next(_n)}", "full_name": "新同事", "role": role,
                             "jurisdiction_id": w.target(kind, which)}


def _fix(t: datetime | None = None) -> dict:
    t = t or datetime.now(UTC)
    return {"id": f"m-{next(_n)}", "time": t.isoformat(), "lat": 28.95, "lon": 118.95, "accuracy": 10}


def _osmand(w: MatrixWorld, which: str) -> dict:
    return {"lat": "28.95", "lon": "118.95", "timestamp": str(int(datetime.now(UTC).timestamp())), "accuracy": "10"}


def _owntracks(w: MatrixWorld, which: str) -> dict:
    return {"_type": "location", "lat": 28.95, "lon": 118.95, "tst": int(datetime.now(UTC).timestamp()), "acc": 10}


def _gpx(w: MatrixWorld, which: str) -> bytes:
    t = datetime.now(UTC) - timedelta(hours=1)
    points = "".join(f'<trkpt lat="28.95" lon="118.95{i}"><time>{(t + timedelta(seconds=30 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")}'
                     f"</time></trkpt>" for i in range(3))
    return (f'<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="matrix" '
            f'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{points}</trkseg></trk></gpx>').encode()


def _checkin(w: MatrixWorld, which: str) -> dict:
    return {"nonce": w.nonces[which], "lon": 118.95, "lat": 28.95, "accuracy_m": 20, "datum": "wgs84"}


_CIRCLE = {"lon": 118.97, "lat": 28.97, "radius_m": 200}
_REASON = {"reason": "核实无误"}
# Check-in and enrolment photos (checkins/photos.py), seeded in world.py.
PATH_OBJECTS["media_id"] = "media"
# Roll-calls and their evidence frames (tests/security/world_rollcall.py).
PATH_OBJECTS.update(rollcall_id="rollcall", frame_id="rollcall_frame")


def _rollcall(w: MatrixWorld, which: str) -> dict:
    """A roll-call of the object supervisee at a camera of its office (office A's for a missing one)."""
    return {"supervisee_id": w.target("supervisee", which),
            "camera_id": w.target("camera", "in" if which == "missing" else which), "gesture": "wave"}

# --- the table ---------------------------------------------------------------------------
ROWS: list[Row] = [
#        same        other       xbur        mgr         aud         admin       sup         sup2        dev         anon        exp         dis         pwd
    row("GET /openapi.json",
        "ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok"),
    row("GET /docs",
        "ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok"),
    # The console's pages and assets: static files anyone may fetch (the data comes from the API).
    row("GET /",
        "307         307         307         307         307         307         307         307         307         307         307         307         307"),
    row("GET /console/",
        "ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok"),
    row("GET /console/static/{relative:path}",
        "ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok",
        fixed={"relative": "js/main.js"}),
    row("GET /console/static/{relative:path}",
        "404         404         404         404         404         404         404         404         404         404         404         404         404",
        fixed={"relative": "%2e%2e/node_modules/leaflet/dist/leaflet.js"}, case="outside the folder"),
    row("GET /console/vendor/{library}/{relative:path}",
        "ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok",
        fixed={"library": "leaflet", "relative": "leaflet.js"}),
    row("GET /health",
        "ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok"),
    row("POST /auth/login",
        "ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok",
        body=lambda w, _: {"username": w.base.users["officer_b"].username, "password": "correct horse battery"}),
    # Redeeming a code is anonymous (the admin's officer account of the world; each cell rolls back).
    row("POST /auth/activate",
        "ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok          ok",
        body=lambda w, _: {"username": w.activation[0], "code": w.activation[1], "password": "a password of my own"}),
    row("GET /auth/me",
        "ok          ok          ok          ok          ok          ok          ok          ok          401         401         401         401         401"),
    # --- jurisdictions, accounts, supervisees, devices
#        same        other       xbur        mgr         aud         admin       sup         sup2        dev         anon        exp         dis         pwd
    row("GET /jurisdictions",
        "ok          ok          ok          ok          ok          ok          ok          ok          401         401         401         401         401", lists="jurisdiction",
        sees_none=("sup", "sup2")),  # a supervisee reads no jurisdiction (GET /jurisdictions/{id} is 404)
    row("GET /jurisdictions/{jurisdiction_id}",
        "ok          404         404/ok/404  ok          ok          ok          404         404         401         401         401         401         401"),
    row("POST /jurisdictions",
        "403         403         403         403         403         ok          403         403         401         401         401         401         401",
        obj="bureau", ref="body.parent_id",
        body=lambda w, which: {"name": f"新所{next(_n)}", "level": "office", "parent_id": w.target("bureau", which)}),
    row("PATCH /jurisdictions/{jurisdiction_id}",
        "403         403         403         403         403         ok          403         403         401         401         401         401         401",
        body=lambda w, _: {"name": "改名所"}),
    row("GET /users",
        "ok          ok          ok          ok          ok          ok          ok          ok          401         401         401         401         401", lists="user"),
    row("GET /users/{user_id}",
        "ok          404         404/ok/404  ok          ok          ok          ok          404         401         401         401         401         401"),
    # Separation of duties (supervision/account_requests.py RULES): the admin makes officers directly
    # (the code goes to the admin); a manager, auditor or supervisee login only waits (202) for a
    # manager above it; an admin account is the operator's (CLI), never the API's.
    row("POST /users",
        "403         403         403         403         403         ok          403         403         401         401         401         401         401",
        obj="jurisdiction", ref="body.jurisdiction_id", body=_user("officer"), case="officer"),
    row("POST /users",
        "403         403         403         403         403         202/404/404 403         403         401         401         401         401         401",
        obj="bureau", ref="body.jurisdiction_id", body=_user("manager", "bureau"), case="manager"),
    row("POST /users",
        "403         403         403         403         403         403         403         403         401         401         401         401         401",
        obj="bureau", ref="body.jurisdiction_id", body=_user("admin", "bureau"), case="admin"),
    row("POST /users",
        "403         403         403         403         403         202/404/404 403         403         401         401         401         401         401",
        obj="jurisdiction", ref="body.jurisdiction_id", case="supervisee login",
        body=lambda w, which: {**_user("supervisee")(w, which), "supervisee_id": w.target("loginless", which)}),
    row("POST /users/{user_id}/reset",
        "403         403         403         403         403         ok          403         403         401         401         401         401         401",
        obj="officer", case="officer"),
    row("POST /users/{user_id}/reset",
        "403         403         403         403         403         202/404/404 403         403         401         401         401         401         401",
        case="supervisee login"),
    row("PATCH /users/{user_id}",
        "403/404/404 404         404/ok/404  403/404/404 403/404/404 ok          ok          404         401         401         401         401         401",
        body=lambda w, _: {"full_name": "改名"}),
    # Nobody sets another's password, the admin included (a reset issues a code instead).
    row("PATCH /users/{user_id}",
        "403/404/404 404         404/ok/404  403/404/404 403/404/404 403/404/404 ok          404         401         401         401         401         401",
        body=lambda w, _: {"password": "a password of my own"}, case="password"),
    # The queue of the admin's requests: the admin sees what it asked, a manager decides.
    row("GET /account-requests",
        "403         403         403         ok          403         ok          403         403         401         401         401         401         401", lists="account_request"),
    row("POST /account-requests/{request_id}/approve",
        "403         403         403         ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: _REASON),
    row("POST /account-requests/{request_id}/reject",
        "403         403         403         ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: _REASON),
    row("GET /supervisees",
        "ok          ok          ok          ok          ok          403         ok          ok          401         401         401         401         401", lists="supervisee"),
    row("GET /supervisees/{supervisee_id}",
        "ok          404         404/ok/404  ok          ok          403         ok          404         401         401         401         401         401"),
    row("POST /supervisees",
        "ok/422/422  422         422/ok/422  ok/422/422  403         403         403         403         401         401         401         401         401",
        obj="jurisdiction", ref="body.office_id",
        body=_supervisee),
    # Registrations held for the bureau (a national ID on record, or the sample): its managers decide.
    row("GET /registrations",
        "403         403         403         ok          403         403         403         403         401         401         401         401         401", lists="registration"),
    row("POST /registrations/{registration_id}/accept",
        "403         403         403         ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: _REASON),
    row("POST /registrations/{registration_id}/reject",
        "403         403         403         ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: _REASON),
    # Separation of duties: nobody decides a registration they entered themselves.
    row("POST /registrations/{registration_id}/accept",
        "403         403         403         403/404/404 403         403         403         403         401         401         401         401         401",
        obj="own_registration", body=lambda w, _: _REASON, case="entered by the manager"),
    row("POST /registrations/{registration_id}/reject",
        "403         403         403         403/404/404 403         403         403         403         401         401         401         401         401",
        obj="own_registration", body=lambda w, _: _REASON, case="entered by the manager"),
    row("PATCH /supervisees/{supervisee_id}",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"tier": "strict"}),
    row("GET /devices",
        "ok          ok          ok          ok          ok          ok          403         403         401         401         401         401         401", lists="device"),
    row("GET /devices/{device_id}",
        "ok          404         404/ok/404  ok          ok          ok          403         403         401         401         401         401         401"),
    row("POST /devices",
        "ok/422/422  422         422/ok/422  ok/422/422  403         403         403         403         401         401         401         401         401",
        obj="supervisee", ref="body.supervisee_id",
        body=lambda w, which: {"supervisee_id": w.target("supervisee", which), "name": "新手机", "kind": "phone",
                               "protocol": "native"}),
    row("PATCH /devices/{device_id}",
        "ok          404         404/ok/404  ok          403         ok          403         403         401         401         401         401         401",
        body=lambda w, _: {"name": "改名手机"}),
    # A new secret is a registration too: an officer's act, not the admin's.
    row("PATCH /devices/{device_id}",
        "ok          404         404/ok/404  ok          403         403/404/404 403         403         401         401         401         401         401",
        body=lambda w, _: {"rotate_secret": True}, case="rotate secret"),
    # --- fences
#        same        other       xbur        mgr         aud         admin       sup         sup2        dev         anon        exp         dis         pwd
    row("POST /supervisees/{supervisee_id}/fences",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"kind": "exclusion", "label": "酒吧街", "circle": _CIRCLE}),
    row("GET /supervisees/{supervisee_id}/fences",
        "ok          404         404/ok/404  ok          ok          403         ok          404         401         401         401         401         401"),
    row("GET /fences/{fence_id}",
        "ok          404         404/ok/404  ok          ok          403         404         404         401         401         401         401         401"),
    row("POST /fences/{fence_id}/versions",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"min_fixes": 3}),
    row("POST /fences/{fence_id}/retire",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401"),
    # --- ingest (device credentials) and tracks
#        same        other       xbur        mgr         aud         admin       sup         sup2        dev         anon        exp         dis         pwd
    row("POST /ingest/native",
        "401         401         401         401         401         401         401         401         ok          401         401         401         401",
        body=lambda w, _: {"fixes": [_fix()]}),
    row("GET /ingest/osmand",
        "422         422         422         422         422         422         422         422         ok          422         422         422         422",
        query=_osmand, device_auth="osmand"),
    row("POST /ingest/osmand",
        "422         422         422         422         422         422         422         422         ok          422         422         422         422",
        query=_osmand, device_auth="osmand"),
    row("POST /ingest/owntracks",
        "401         401         401         401         401         401         401         401         ok          401         401         401         401",
        body=_owntracks, device_auth="owntracks"),
    row("POST /supervisees/{supervisee_id}/gpx",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        content=_gpx),
    row("GET /supervisees/{supervisee_id}/fixes",
        "ok          404         404/ok/404  ok          ok          403         ok          404         401         401         401         401         401"),
    # The map: last known positions, staff that may read locations (not the admin, not a supervisee).
    row("GET /positions",
        "ok          ok          ok          ok          ok          403         403         403         401         401         401         401         401"),
    # The map's base-map settings and administrative outlines (geography): staff with a map.
    row("GET /map/config",
        "ok          ok          ok          ok          ok          403         403         403         401         401         401         401         401"),
    # --- check-ins (the supervisee's account, the phone's credential, officers, managers)
#        same        other       xbur        mgr         aud         admin       sup         sup2        dev         anon        exp         dis         pwd
    row("GET /checkins/plan",
        "403         403         403         403         403         403         ok          ok          401         401         401         401         401"),
    row("GET /checkins/due",
        "403         403         403         403         403         403         ok          ok          401         401         401         401         401"),
    row("POST /checkins/{occurrence_id}/challenge",
        "403         403         403         403         403         403         ok          404         401         401         401         401         401"),
    row("POST /checkins/{occurrence_id}/location",
        "403         403         403         403         403         403         ok          404         401         401         401         401         401",
        body=_checkin),
    # Without its photos: refused before the occurrence is looked up (the form is read first).
    row("POST /checkins/{occurrence_id}/submit",
        "403         403         403         403         403         403         422         422         401         401         401         401         401"),
    row("POST /supervisees/{supervisee_id}/face-enrolment",
        "422/404/404 404         404/422/404 422/404/404 403         403         403         403         401         401         401         401         401"),
    row("GET /checkins/history",
        "ok          404         404/ok/404  ok          ok          403         ok          404         401         401         401         401         401",
        obj="supervisee", ref="query.supervisee_id", query=lambda w, which: {"supervisee_id": w.target("supervisee", which)}),
    row("POST /device/checkins/{occurrence_id}/challenge",
        "401         401         401         401         401         401         401         401         ok          401         401         401         401"),
    row("POST /device/checkins/{occurrence_id}/location",
        "401         401         401         401         401         401         401         401         ok          401         401         401         401",
        body=_checkin),
    row("POST /checkins/spot-checks",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        obj="supervisee", ref="body.supervisee_id",
        body=lambda w, which: {"supervisee_id": w.target("supervisee", which), "requires_face": False}),
    row("GET /checkins/ledger",
        "ok          ok          ok          ok          ok          403         403         403         401         401         401         401         401", lists="ledger_entry"),
    row("POST /checkins/ledger/{entry_id}/decide",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"decision": "overturned", "reason": "当时在医院，有证明"}),
    row("GET /checkins/compliance",
        "403         403         403         ok          ok          403         403         403         401         401         401         401         401",
        query=lambda w, _: {"month_from": "2026-01-01", "month_to": "2026-12-01"}),
    # --- sanctions, assessments, obligations, risk, tier proposals (staff; the system proposes, officers decide)
#        same        other       xbur        mgr         aud         admin       sup         sup2        dev         anon        exp         dis         pwd
    row("GET /supervisees/{supervisee_id}/sanctions",
        "ok          404         404/ok/404  ok          ok          403         ok          404         401         401         401         401         401"),
    row("POST /supervisees/{supervisee_id}/sanctions",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"kind": "praise", "facts": "见义勇为", "evidence": {}}),
    row("GET /sanctions",
        "ok          ok          ok          ok          ok          403         403         403         401         401         401         401         401", lists="sanction"),
    row("POST /sanctions/{sanction_id}/decide",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"decision": "impose", "reason": "失联5日，予以训诫"}),
    row("GET /supervisees/{supervisee_id}/assessments",
        "ok          404         404/ok/404  ok          ok          403         ok          404         401         401         401         401         401"),
    row("POST /assessments/{assessment_id}/confirm",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"reason": "月度考核"}),
    row("GET /supervisees/{supervisee_id}/obligations",
        "ok          404         404/ok/404  ok          ok          403         403         403         401         401         401         401         401",
        query=lambda w, _: {"month": "2026-01"}),
    row("POST /supervisees/{supervisee_id}/obligations",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"month": "2026-01", "kind": "study", "hours": 4}),
    row("GET /supervisees/{supervisee_id}/risk",
        "ok          404         404/ok/404  ok          ok          403         403         403         401         401         401         401         401"),
    row("GET /supervisees/{supervisee_id}/tier-proposals",
        "ok          404         404/ok/404  ok          ok          403         403         403         401         401         401         401         401"),
    row("GET /tier-proposals",
        "ok          ok          ok          ok          ok          403         403         403         401         401         401         401         401", lists="tier_proposal"),
    row("POST /tier-proposals/{proposal_id}/decide",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"decision": "confirm", "reason": "新入矫"}),
    row("GET /sanction-policies/{jurisdiction_id}",
        "ok          404         404/ok/404  ok          ok          403         403         403         401         401         401         401         401"),
    row("PUT /sanction-policies/{jurisdiction_id}",
        "403         403         403         ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"warning_level": "bureau"}),
    row("GET /checkin-policies/{jurisdiction_id}",
        "ok          404         404/ok/404  ok          ok          403         403         403         401         401         401         401         401"),
    row("PUT /checkin-policies/{jurisdiction_id}",
        "403         403         403         ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"spot_per_week": 2}),
    # --- cameras: admins register, staff read in scope; frames follow the alert's scope
#        same        other       xbur        mgr         aud         admin       sup         sup2        dev         anon        exp         dis         pwd
    row("POST /cameras",
        "403         403         403         403         403         ok          403         403         401         401         401         401         401",
        obj="jurisdiction", ref="body.jurisdiction_id", body=_camera),
    row("GET /cameras",
        "ok          ok          ok          ok          ok          ok          403         403         401         401         401         401         401", lists="camera"),
    row("POST /cameras/import",
        "403         403         403         403         403         ok          403         403         401         401         401         401         401",
        obj="jurisdiction", ref="query.jurisdiction_id", query=lambda w, which: {"jurisdiction_id": w.target("jurisdiction", which)},
        content=_camera_csv),
    row("GET /cameras/coverage",
        "ok          ok          ok          ok          ok          ok          403         403         401         401         401         401         401",
        query=lambda w, _: {"lon": 118.9, "lat": 28.9, "accuracy": 10}),
    row("GET /cameras/nearby",
        "ok          ok          ok          ok          ok          ok          403         403         401         401         401         401         401",
        query=lambda w, _: {"lon": 118.9, "lat": 28.9, "radius": 300}),
    row("GET /cameras/{camera_id}",
        "ok          404         404/ok/404  ok          ok          ok          403         403         401         401         401         401         401"),
    row("PATCH /cameras/{camera_id}",
        "403         403         403         403         403         ok          403         403         401         401         401         401         401",
        body=lambda w, _: {"name": "改名", "heading": 45}),
    row("POST /cameras/{camera_id}/snapshots",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401"),
    row("GET /alerts/{alert_id}/snapshots",
        "ok          404         404/ok/404  ok          ok          403         403         403         401         401         401         401         401"),
    row("POST /alerts/{alert_id}/snapshots",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401"),
    row("GET /camera-snapshots/{snapshot_id}",
        "ok          404         404/ok/404  ok          ok          403         403         403         401         401         401         401         401"),
    row("GET /camera-snapshots/{snapshot_id}/frames/{index}",
        "ok          404         404/ok/404  ok          ok          403         403         403         401         401         401         401         401",
        fixed={"index": "0"}),
    row("GET /camera-health",
        "ok          ok          ok          ok          ok          ok          403         403         401         401         401         401         401"),
    row("GET /camera-health/{camera_id}",
        "ok          404         404/ok/404  ok          ok          ok          403         403         401         401         401         401         401"),
    # --- alerts and the live stream
#        same        other       xbur        mgr         aud         admin       sup         sup2        dev         anon        exp         dis         pwd
    row("POST /ws/tickets",
        "ok          ok          ok          ok          ok          403         403         403         401         401         401         401         401"),
    # For the socket, ok / 404 = the alert is / is not in the snapshot sent (test_ws_matrix.py).
    row("WS /ws/alerts",
        "ok          404         404/ok/404  ok          ok          403         403         403         401         401         401         401         401",
        obj="alert"),
    row("GET /alerts",
        "ok          ok          ok          ok          ok          403         403         403         401         401         401         401         401", lists="alert"),
    row("GET /alerts/{alert_id}",
        "ok          404         404/ok/404  ok          ok          403         403         403         401         401         401         401         401"),
    row("POST /alerts/{alert_id}/acknowledge",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401"),
    row("POST /alerts/{alert_id}/assign",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, which: {"officer_id": w.target("officer", "out" if which == "out" else "in")}),
    row("POST /alerts/{alert_id}/notes",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"body": "已电话联系"}),
    row("POST /alerts/{alert_id}/resolve",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"reason": "false_alarm", "note": "定位漂移"}),
    row("POST /webhooks",
        "403         403         403         ok/422/422  403         ok/422/422  403         403         401         401         401         401         401",
        obj="bureau", ref="body.bureau_id",
        body=lambda w, which: {"url": "http://127.0.0.1:9/hook", "bureau_id": w.target("bureau", which)}),
    row("GET /webhooks",
        "403         403         403         ok          ok          ok          403         403         401         401         401         401         401", lists="webhook"),
    row("PATCH /webhooks/{webhook_id}",
        "403         403         403         ok          403         ok          403         403         401         401         401         401         401",
        body=lambda w, _: {"description": "值班群"}),
    row("GET /webhooks/{webhook_id}/deliveries",
        "403         403         403         ok          ok          ok          403         403         401         401         401         401         401"),
    # --- leave and standing permits
#        same        other       xbur        mgr         aud         admin       sup         sup2        dev         anon        exp         dis         pwd
    row("POST /leave",
        "ok          404         404/ok/404  ok          403         403         ok          404         401         401         401         401         401",
        obj="supervisee", ref="body.supervisee_id", body=_leave),
    row("GET /leave",
        "ok          ok          ok          ok          ok          403         ok          ok          401         401         401         401         401", lists="leave"),
    row("GET /leave/{leave_id}",
        "ok          404         404/ok/404  ok          ok          403         ok          404         401         401         401         401         401"),
    row("POST /leave/{leave_id}/approve",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: _REASON),
    row("POST /leave/{leave_id}/reject",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: _REASON),
    row("POST /leave/{leave_id}/withdraw",
        "403/404/404 404         404/403/404 403/404/404 403         403         ok          404         401         401         401         401         401",
        body=lambda w, _: {"reason": "不去了"}),
    row("POST /leave/{leave_id}/extend",
        "409/404/404 404         404/409/404 409/404/404 403         403         409/404/404 404         401         401         401         401         401",
        body=lambda w, _: {"return_at": _later(6), "reason": "病情加重"}),
    row("POST /leave/{leave_id}/cut-short",
        "409/404/404 404         404/409/404 409/404/404 403         403         409/404/404 404         401         401         401         401         401",
        body=lambda w, _: {"return_at": _later(2.5), "reason": "提前回来"}),
    row("POST /leave/{leave_id}/return",
        "409/404/404 404         404/409/404 403         403         403         409/404/404 404         401         401         401         401         401",
        body=lambda w, _: {"lon": 118.95, "lat": 28.95, "accuracy_m": 10}),
    row("POST /leave-permits",
        "ok          404         404/ok/404  ok          403         403         ok          404         401         401         401         401         401",
        obj="supervisee", ref="body.supervisee_id",
        body=_permit),
    row("GET /leave-permits/{permit_id}",
        "ok          404         404/ok/404  ok          ok          403         ok          404         401         401         401         401         401"),
    row("POST /leave-permits/{permit_id}/approve",
        "403/404/404 404         404/403/404 ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: _REASON),
    row("POST /leave-permits/{permit_id}/reject",
        "403/404/404 404         404/403/404 ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: _REASON),
    row("POST /leave-permits/{permit_id}/end",
        "403/404/404 404         404/403/404 ok          403         403         ok          404         401         401         401         401         401",
        body=lambda w, _: {"reason": "工程结束"}),
    row("GET /leave-policies/{jurisdiction_id}",
        "ok          404         404/ok/404  ok          ok          403         403         403         401         401         401         401         401"),
    row("PUT /leave-policies/{jurisdiction_id}",
        "403         403         403         ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"max_days": 20}),
    row("GET /reports/leave",
        "403         403         403         ok          ok          403         403         403         401         401         401         401         401",
        obj="jurisdiction", ref="query.jurisdiction_id",
        query=lambda w, which: {"jurisdiction_id": w.target("jurisdiction", which)}),
    # --- electronic-positioning orders (Law art. 29): officers and managers propose, the bureau head (here the
    # manager of bureau 1) alone approves; auditors read; supervisees, admins and devices never
#        same        other       xbur        mgr         aud         admin       sup         sup2        dev         anon        exp         dis         pwd
    row("POST /supervisees/{supervisee_id}/positioning-orders",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"ground": "left_area_unapproved", "facts": "未经批准离开县境", "starts_at": _later(70),
                           "ends_at": _later(80)}),
    row("GET /supervisees/{supervisee_id}/positioning-orders",
        "ok          404         404/ok/404  ok          ok          403         403         403         401         401         401         401         401"),
    row("GET /positioning-orders/{order_id}",
        "ok          404         404/ok/404  ok          ok          403         403         403         401         401         401         401         401"),
    row("POST /positioning-orders/{order_id}/approve",
        "403         403         403         ok          403         403         403         403         401         401         401         401         401",
        obj="proposed_order", body=lambda w, _: {}),
    row("POST /positioning-orders/{order_id}/extensions",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"reassessment": "复评：风险仍在", "ends_at": _later(60)}),
    row("POST /positioning-orders/{order_id}/extensions/approve",
        "403         403         403         409/404/404 403         403         403         403         401         401         401         401         401"),
    row("POST /positioning-orders/{order_id}/terminate",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"reason": "已收监执行"}),
    # --- check-in photos: the supervisee's officers and managers only (supervisees, admins, auditors never)
#        same        other       xbur        mgr         aud         admin       sup         sup2        dev         anon        exp         dis         pwd
    row("GET /checkins/photos/{media_id}",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401"),
    # --- end of term (Law art. 44): officers and managers decide, auditors read; a hold is lifted by a manager
#        same        other       xbur        mgr         aud         admin       sup         sup2        dev         anon        exp         dis         pwd
    row("GET /supervisees/{supervisee_id}/lifecycle",
        "ok          404         404/ok/404  ok          ok          403         403         403         401         401         401         401         401"),
    row("POST /supervisees/{supervisee_id}/release",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"reason": "法院裁定撤销缓刑"}),
    row("POST /supervisees/{supervisee_id}/legal-holds",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"reason": "申诉未结"}),
    row("POST /legal-holds/{hold_id}/lift",
        "403         403         403         ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"reason": "申诉已结案"}),
    # --- remote roll-calls (远程点名): officers and managers start and decide; auditors read; the supervisee
    # sees only their own request (never the outcome or the frames)
#        same        other       xbur        mgr         aud         admin       sup         sup2        dev         anon        exp         dis         pwd
    row("GET /rollcalls/gestures",
        "ok          ok          ok          ok          ok          ok          ok          ok          401         401         401         401         401"),
    row("GET /supervisees/{supervisee_id}/rollcall-cameras",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401"),
    row("POST /rollcalls",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        obj="supervisee", ref="body.supervisee_id", body=_rollcall),
    row("GET /rollcalls/mine",
        "403         403         403         403         403         403         ok          ok          401         401         401         401         401"),
    row("GET /rollcalls",
        "ok          ok          ok          ok          ok          403         403         403         401         401         401         401         401",
        lists="rollcall"),
    row("GET /rollcalls/{rollcall_id}",
        "ok          404         404/ok/404  ok          ok          403         ok          404         401         401         401         401         401"),
    row("POST /rollcalls/{rollcall_id}/decision",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        body=lambda w, _: {"decision": "confirmed", "reason": "画面中为本人，已按要求挥手"}),
    row("POST /rollcalls/{rollcall_id}/cancel",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401",
        obj="rollcall_waiting", body=lambda w, _: {"reason": "已电话联系"}),
    row("GET /rollcall-frames/{frame_id}",
        "ok          404         404/ok/404  ok          403         403         403         403         401         401         401         401         401"),
]
