"""One unit of work for every route (api.deps): a refused write rolls back its
changes and leaves its audit row; a successful one is committed before the
answer leaves.

The table below names, for every write route of the app, a request that the
service refuses (out of scope, nonexistent, or a role that may not). A route
added without an entry fails ``test_every_write_route_has_a_refusal_case``.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.audit import AuditEntry

MISSING = 2_000_000_000  # an id no row has
SOON = datetime.now(UTC) + timedelta(days=2)
DEST = {"address": "杭州", "circle": {"lon": 120.15, "lat": 30.28, "radius_m": 5000}}
CIRCLE = {"circle": {"lon": 118.9, "lat": 28.9, "radius_m": 200}}

# (method, path template) -> (who, path values, JSON body). ``{a}``/``{b}`` are the
# supervisees of office a/b, ``{office_a}`` the office a; anything else is MISSING.
# A value whose name is not in the path goes into the query string.
CASES: dict[tuple[str, str], tuple[str, dict, dict | None]] = {
    ("POST", "/auth/login"): ("anonymous", {}, {"username": "nobody-here", "password": "wrong"}),
    ("POST", "/jurisdictions"): ("officer_a", {}, {"name": "新所", "level": "office", "parent_id": "{office_a}"}),
    ("PATCH", "/jurisdictions/{jurisdiction_id}"): ("admin", {}, {"name": "改名"}),
    ("POST", "/auth/activate"): ("anonymous", {}, {"username": "nobody-here", "code": "wrong",
                                                  "password": "a-long-password-1"}),
    ("POST", "/users"): ("officer_a", {}, {"username": "new-user", "full_name": "新人", "role": "officer",
                                          "jurisdiction_id": "{office_a}"}),
    ("POST", "/users/{user_id}/reset"): ("officer_a", {}, None),
    ("POST", "/account-requests/{request_id}/approve"): ("manager", {}, {"reason": "同意"}),
    ("POST", "/account-requests/{request_id}/reject"): ("manager", {}, {"reason": "不同意"}),
    ("POST", "/registrations/{registration_id}/accept"): ("manager", {}, {"reason": "同意"}),
    ("POST", "/registrations/{registration_id}/reject"): ("manager", {}, {"reason": "不同意"}),
    ("PATCH", "/users/{user_id}"): ("admin", {}, {"full_name": "改名"}),
    ("POST", "/supervisees"): ("auditor", {}, {"name": "某", "national_id": "11010519491231002X",
                                              "sentence_type": "probation", "term_start": "2026-01-01",
                                              "term_end": "2027-01-01", "office_id": "{office_a}"}),
    ("PATCH", "/supervisees/{supervisee_id}"): ("officer_a", {"supervisee_id": "{b}"}, {"tier": "strict"}),
    ("POST", "/devices"): ("officer_a", {}, {"supervisee_id": "{b}", "name": "手机", "kind": "phone",
                                            "protocol": "native"}),
    ("PATCH", "/devices/{device_id}"): ("officer_a", {}, {"name": "改名"}),
    ("POST", "/supervisees/{supervisee_id}/fences"): ("officer_a", {"supervisee_id": "{b}"},
                                                      {"kind": "exclusion", **CIRCLE}),
    ("POST", "/fences/{fence_id}/versions"): ("officer_a", {}, CIRCLE),
    ("POST", "/fences/{fence_id}/retire"): ("officer_a", {}, None),
    ("POST", "/supervisees/{supervisee_id}/gpx"): ("officer_a", {"supervisee_id": "{b}"}, None),
    ("POST", "/alerts/{alert_id}/acknowledge"): ("officer_a", {}, None),
    ("POST", "/alerts/{alert_id}/assign"): ("officer_a", {}, {"officer_id": 1}),
    ("POST", "/alerts/{alert_id}/notes"): ("officer_a", {}, {"body": "备注"}),
    ("POST", "/alerts/{alert_id}/resolve"): ("officer_a", {}, {"reason": "false_alarm", "note": "x"}),
    ("POST", "/webhooks"): ("officer_a", {}, {"url": "https://example.invalid/hook"}),
    ("PATCH", "/webhooks/{webhook_id}"): ("manager", {}, {"active": False}),
    ("POST", "/leave"): ("auditor", {}, {"destination": DEST, "reason": "探亲", "depart_at": SOON.isoformat(),
                                        "return_at": (SOON + timedelta(days=1)).isoformat()}),
    ("POST", "/leave/{leave_id}/approve"): ("officer_a", {}, {"reason": "同意"}),
    ("POST", "/leave/{leave_id}/reject"): ("officer_a", {}, {"reason": "不同意"}),
    ("POST", "/leave/{leave_id}/withdraw"): ("supervisee_a", {}, {}),
    ("POST", "/leave/{leave_id}/extend"): ("officer_a", {}, {"return_at": SOON.isoformat(), "reason": "延期"}),
    ("POST", "/leave/{leave_id}/cut-short"): ("officer_a", {}, {"return_at": SOON.isoformat(), "reason": "提前"}),
    ("POST", "/leave/{leave_id}/return"): ("supervisee_a", {}, {"lon": 118.9, "lat": 28.9, "accuracy_m": 10}),
    ("POST", "/leave-permits"): ("auditor", {}, {"area": DEST, "reason": "上班", "weekdays": [0],
                                                "start_time": "07:00", "end_time": "19:00",
                                                "valid_from": "2026-01-01", "valid_until": "2026-02-01"}),
    ("POST", "/leave-permits/{permit_id}/approve"): ("officer_a", {}, {"reason": "同意"}),
    ("POST", "/leave-permits/{permit_id}/reject"): ("officer_a", {}, {"reason": "不同意"}),
    ("POST", "/leave-permits/{permit_id}/end"): ("officer_a", {}, {}),
    ("PUT", "/leave-policies/{jurisdiction_id}"): ("officer_b", {"jurisdiction_id": "{office_a}"}, {"max_days": 5}),
    ("POST", "/checkins/{occurrence_id}/challenge"): ("supervisee_a", {}, None),
    ("POST", "/checkins/{occurrence_id}/location"): ("supervisee_a", {}, {"nonce": "n" * 20, "lon": 118.9,
                                                                           "lat": 28.9, "accuracy_m": 10}),
    ("POST", "/checkins/{occurrence_id}/submit"): ("officer_a", {}, {}),
    ("POST", "/checkins/spot-checks"): ("officer_b", {}, {"supervisee_id": "{a}"}),
    ("POST", "/supervisees/{supervisee_id}/face-enrolment"): ("supervisee_a", {"supervisee_id": "{a}"}, {}),
    ("POST", "/checkins/ledger/{entry_id}/decide"): ("officer_a", {}, {"decision": "confirmed", "reason": "x"}),
    ("PUT", "/checkin-policies/{jurisdiction_id}"): ("officer_b", {"jurisdiction_id": "{office_a}"}, {"plan": "tier"}),
    # cameras: only admins register and change them; frames only of what the caller can see
    ("POST", "/cameras"): ("officer_a", {}, {"code": "CAM-1", "name": "路口", "lon": 118.9, "lat": 28.9, "heading": 90,
                                            "fov": 60, "range_m": 50, "url": "rtsp://127.0.0.1/x",
                                            "jurisdiction_id": "{office_a}"}),
    ("PATCH", "/cameras/{camera_id}"): ("officer_a", {}, {"name": "改名"}),
    ("POST", "/cameras/import"): ("officer_a", {"jurisdiction_id": "{office_a}"}, None),
    ("POST", "/cameras/{camera_id}/snapshots"): ("officer_a", {}, None),
    ("POST", "/alerts/{alert_id}/snapshots"): ("officer_a", {}, None),
    # positioning orders (Law art. 29)
    ("POST", "/supervisees/{supervisee_id}/positioning-orders"): (
        "officer_a", {"supervisee_id": "{b}"}, {"ground": "prohibition_order", "facts": "违反禁止令",
                                                "starts_at": SOON.isoformat(),
                                                "ends_at": (SOON + timedelta(days=30)).isoformat()}),
    ("POST", "/positioning-orders/{order_id}/approve"): ("manager", {}, {"note": "同意"}),
    ("POST", "/positioning-orders/{order_id}/extensions"): ("officer_a", {}, {
        "reassessment": "重新评估", "ends_at": (SOON + timedelta(days=60)).isoformat()}),
    ("POST", "/positioning-orders/{order_id}/extensions/approve"): ("manager", {}, None),
    ("POST", "/positioning-orders/{order_id}/terminate"): ("officer_a", {}, {"reason": "解除"}),
    # roll-calls
    ("POST", "/rollcalls"): ("officer_a", {}, {"supervisee_id": "{b}", "camera_id": MISSING}),
    ("POST", "/rollcalls/{rollcall_id}/decision"): ("officer_a", {}, {"decision": "confirmed", "reason": "x"}),
    ("POST", "/rollcalls/{rollcall_id}/cancel"): ("officer_a", {}, {"reason": "取消"}),
    # sanctions, assessments, obligations, tiers
    ("POST", "/supervisees/{supervisee_id}/sanctions"): ("officer_a", {"supervisee_id": "{b}"},
                                                         {"kind": "admonition", "facts": "未按时报到"}),
    ("POST", "/sanctions/{sanction_id}/decide"): ("manager", {}, {"decision": "impose", "reason": "x"}),
    ("POST", "/assessments/{assessment_id}/confirm"): ("officer_a", {}, {"reason": "确认"}),
    ("POST", "/supervisees/{supervisee_id}/obligations"): ("officer_a", {"supervisee_id": "{b}"},
                                                           {"month": "2026-01", "kind": "study", "hours": 2}),
    ("POST", "/tier-proposals/{proposal_id}/decide"): ("officer_a", {}, {"decision": "confirm", "reason": "x"}),
    ("PUT", "/sanction-policies/{jurisdiction_id}"): ("officer_b", {"jurisdiction_id": "{office_a}"},
                                                      {"warning_level": "bureau"}),
    # end of term
    ("POST", "/supervisees/{supervisee_id}/release"): ("officer_a", {"supervisee_id": "{b}"}, {"reason": "提前解矫"}),
    ("POST", "/supervisees/{supervisee_id}/legal-holds"): ("officer_a", {"supervisee_id": "{b}"}, {"reason": "诉讼"}),
    ("POST", "/legal-holds/{hold_id}/lift"): ("officer_a", {}, {"reason": "结案"}),
}
# Device protocols authenticate a device, not a person: a refusal there has no
# one to attribute (and anonymous floods must not grow the audit trail).
DEVICE_ROUTES = {("POST", "/ingest/native"), ("GET", "/ingest/osmand"), ("POST", "/ingest/osmand"),
                 ("POST", "/ingest/owntracks"), ("POST", "/device/checkins/{occurrence_id}/challenge"),
                 ("POST", "/device/checkins/{occurrence_id}/location")}
# Issuing a websocket ticket is refused only to callers without a valid token.
UNAUTHENTICATED_ONLY = {("POST", "/ws/tickets")}


def _write_routes(app) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops
            if method.upper() in {"POST", "PATCH", "PUT", "DELETE"}}


def _fill(value, world):
    names = {"{a}": world.supervisees["a"].id, "{b}": world.supervisees["b"].id, "{office_a}": world.office_a.id}
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return names.get(value, value) if isinstance(value, str) else value


def _url(template: str, values: dict, world) -> str:
    import re

    from urllib.parse import urlencode

    url, query = template, {}
    for name, value in values.items():
        if "{" + name + "}" in template:
            url = url.replace("{" + name + "}", str(_fill(value, world)))
        else:
            query[name] = _fill(value, world)
    url = re.sub(r"\{[^}]+\}", str(MISSING), url)
    return f"{url}?{urlencode(query)}" if query else url


def test_every_write_route_has_a_refusal_case(app):
    missing = _write_routes(app) - set(CASES) - DEVICE_ROUTES - UNAUTHENTICATED_ONLY
    assert not missing, f"write routes without a refusal case: {sorted(missing)}"


@pytest.mark.parametrize("route", sorted(CASES), ids=lambda r: f"{r[0]} {r[1]}")
def test_a_refused_write_leaves_its_audit_row(route, client, world, db):
    method, template = route
    who, values, body = CASES[route]
    request_id = uuid.uuid4().hex
    headers = {"X-Request-Id": request_id}
    if who != "anonymous":
        headers.update(world.auth(who))
    kwargs = {"json": _fill(body, world)} if body is not None else {"content": b"<gpx/>"}
    r = client.request(method, _url(template, values, world), headers=headers, **kwargs)
    assert r.status_code in (401, 403, 404, 409, 422), (r.status_code, r.text)
    db.rollback()  # what the request did not commit is gone, as it would be for a real server
    rows = db.scalars(select(AuditEntry).where(AuditEntry.request_id == request_id)).all()
    assert rows, f"{method} {template} answered {r.status_code} and left no audit row"
    assert all(row.outcome in {"refused", "not_found", "denied"} for row in rows), [(x.action, x.outcome) for x in rows]


def test_a_refusal_rolls_back_what_the_request_changed(client, world, db):
    """Registering with an unknown area code writes the supervisee and its ok audit row,
    then is refused (422): none of it stays, the refusal row does."""
    from supervision.models import Supervisee

    request_id = uuid.uuid4().hex
    body = {"name": "某甲", "national_id": "11010519491231002X", "sentence_type": "probation",
            "term_start": "2026-01-01", "term_end": "2027-01-01", "office_id": world.office_a.id,
            "permitted_area_codes": ["999999"]}
    r = client.post("/supervisees", json=body, headers={**world.auth("officer_a"), "X-Request-Id": request_id})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "permitted_area_codes", r.text
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Supervisee).where(Supervisee.name == "某甲")) == 0
    rows = db.scalars(select(AuditEntry).where(AuditEntry.request_id == request_id)).all()
    assert [(row.action, row.outcome) for row in rows] == [("create_supervisee", "refused")]


def test_a_validation_error_is_not_audited(client, world, db):
    """A malformed request (422 from validation) did not reach the service: no row."""
    request_id = uuid.uuid4().hex
    r = client.post("/leave", headers={**world.auth("supervisee_a"), "X-Request-Id": request_id},
                    json={"reason": ""})
    assert r.status_code == 422
    assert not db.scalars(select(AuditEntry).where(AuditEntry.request_id == request_id)).all()


def test_an_answer_that_fails_to_serialise_commits_nothing(client, world, db, monkeypatch):
    """The commit comes after the response body is built (issue 12, hole 1).

    A row whose answer could not be serialised once stayed stored, and broke
    every later listing. Here serialisation is made to fail for real (an
    object JSON cannot hold, in the response model): the request answers 500
    and neither the leave nor its audit row is committed.
    """
    from leave import service
    from leave.models import LeaveRequest

    real = service.to_out

    def unserialisable(row):
        out = real(row)
        out.destination = {"evidence": object()}
        return out

    monkeypatch.setattr(service, "to_out", unserialisable)
    request_id = uuid.uuid4().hex
    sup = world.supervisees["a"].id
    r = client.post("/leave", headers={**world.auth("supervisee_a"), "X-Request-Id": request_id},
                    json={"destination": DEST, "reason": "探亲", "depart_at": SOON.isoformat(),
                          "return_at": (SOON + timedelta(days=1)).isoformat()})
    assert r.status_code == 500
    db.rollback()
    assert not db.scalars(select(LeaveRequest).where(LeaveRequest.supervisee_id == sup)).all()
    assert not db.scalars(select(AuditEntry).where(AuditEntry.request_id == request_id)).all()
    monkeypatch.undo()
    assert client.get("/leave", headers=world.auth("officer_a")).status_code == 200
