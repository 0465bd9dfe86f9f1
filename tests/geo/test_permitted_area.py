"""permitted_area_codes mean a fence: registering or changing them through the API makes or versions it.

The trap this closes: a supervisee registered with codes, a device, and a week
of fixes 2 km outside the district used to raise no alert, because nothing
turned the codes into a fence.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from shapely.geometry import Point
from sqlalchemy import select

from alerts.models import Alert
from core.audit import AuditEntry
from core.security import issue_access_token
from geo.admin_areas import import_boundary
from geo.boundaries import bundled, load_boundary, union_of_areas
from geo.engine import distance_to_boundary_m
from geo.fences.permitted_area import NO_AREA_WARNING
from tests.factories import national_id

CODES = ["330803", "330802"]  # 衢江区 ∪ 柯城区


@pytest.fixture(autouse=True)
def _areas(db):
    for code in CODES:
        import_boundary(db, bundled(code), datum="gcj02")


def _register(client, world, codes):
    body = {"name": "新", "national_id": national_id(), "sentence_type": "probation", "term_start": "2026-01-01",
            "term_end": "2027-12-31", "tier": "ordinary", "office_id": world.office_a.id,
            "officer_id": world.users["officer_a"].id, "residence": {"lon": 118.95, "lat": 28.95},
            "permitted_area_codes": codes}
    return client.post("/supervisees", headers=world.auth("officer_a"), json=body)


def _permitted(client, world, sid, **params):
    r = client.get(f"/supervisees/{sid}/fences", headers=world.auth("officer_a"), params=params)
    assert r.status_code == 200, r.text
    return [f for f in r.json()["items"] if f["kind"] == "permitted"]


def _outside_point() -> tuple[float, float]:
    """About 2 km west of the union's westernmost point: outside, but only just."""
    union = union_of_areas(load_boundary(bundled(c), "gcj02")[0] for c in CODES)
    west = min(union.exterior.coords if union.geom_type == "Polygon" else
               [xy for g in union.geoms for xy in g.exterior.coords])
    point = (west[0] - 0.02, west[1])
    assert 1_500 < distance_to_boundary_m(union, [point[0]], [point[1]])[0] < 2_500
    assert not union.contains(Point(point))
    return point


def test_registered_codes_guard_and_a_changed_code_versions_the_fence(client, world, db, clock, settings):
    r = _register(client, world, CODES)
    assert r.status_code == 201, r.text
    sup = r.json()
    assert sup["warnings"] == []
    [fence] = _permitted(client, world, sup["id"])
    assert fence["current_version"] == 1
    got = client.get(f"/fences/{fence['id']}", headers=world.auth("officer_a")).json()
    assert got["current"]["admin_codes"] == CODES and got["label"] == "许可活动区域 衢江区∪柯城区"

    r = client.post("/devices", headers=world.auth("officer_a"),
                    json={"supervisee_id": sup["id"], "name": "phone", "kind": "phone", "protocol": "native"})
    assert r.status_code == 201, r.text
    device = {"Authorization": f"Bearer {r.json()['secret']}"}
    start = clock.now()
    clock.advance(days=7)
    lon, lat = _outside_point()
    week = [{"id": f"w-{h}", "time": (start + timedelta(hours=h)).isoformat(), "lon": lon, "lat": lat,
             "accuracy": 20.0} for h in range(1, 7 * 24)]
    r = client.post("/ingest/native", headers=device, json={"fixes": week})
    assert r.status_code == 200 and r.json()["stored"] == len(week), r.text
    alerts = db.scalars(select(Alert).where(Alert.supervisee_id == sup["id"])).all()
    assert [(a.kind, a.fence_id, a.fence_version) for a in alerts] == [("left_permitted_area", fence["id"], 1)]
    officer = world.users["officer_a"]  # a week later: a fresh login
    world.tokens["officer_a"] = issue_access_token(settings.auth, user_id=officer.id, role=officer.role,
                                                   now=clock.now()).token

    # Changing the codes versions the same fence; it stays the only permitted fence in force.
    r = client.patch(f"/supervisees/{sup['id']}", headers=world.auth("officer_a"),
                     json={"permitted_area_codes": ["330803"]})
    assert r.status_code == 200, r.text
    [again] = _permitted(client, world, sup["id"])
    assert (again["id"], again["current_version"]) == (fence["id"], 2)
    current = client.get(f"/fences/{fence['id']}", headers=world.auth("officer_a")).json()
    assert current["current"]["admin_codes"] == ["330803"] and [v["version"] for v in current["versions"]] == [1, 2]
    # The same codes again (in another order, or with other fields): no new version.
    clock.advance(minutes=5)
    for body in ({"permitted_area_codes": ["330803"]}, {"name": "新名"}):
        assert client.patch(f"/supervisees/{sup['id']}", headers=world.auth("officer_a"), json=body).status_code == 200
    assert _permitted(client, world, sup["id"])[0]["current_version"] == 2
    actions = db.execute(select(AuditEntry.action, AuditEntry.detail["version"].as_integer())
                         .where(AuditEntry.object_type == "fence", AuditEntry.object_id == str(fence["id"]))
                         .order_by(AuditEntry.seq)).all()
    assert [tuple(a) for a in actions if a[0] != "fence.read"] == [("fence.create", 1), ("fence.version", 2)]


def test_empty_codes_mean_no_permitted_area_and_say_so(client, world, clock):
    r = _register(client, world, [])
    assert r.status_code == 201 and r.json()["warnings"] == [NO_AREA_WARNING]
    sid = r.json()["id"]
    assert _permitted(client, world, sid) == []
    r = client.patch(f"/supervisees/{sid}", headers=world.auth("officer_a"), json={"permitted_area_codes": CODES})
    assert r.status_code == 200 and r.json()["warnings"] == []
    [fence] = _permitted(client, world, sid)
    clock.advance(minutes=10)
    r = client.patch(f"/supervisees/{sid}", headers=world.auth("officer_a"), json={"permitted_area_codes": []})
    assert r.status_code == 200 and r.json()["warnings"] == [NO_AREA_WARNING]
    assert _permitted(client, world, sid) == []
    assert [f["id"] for f in _permitted(client, world, sid, include_retired=True)] == [fence["id"]]
    one = client.get(f"/supervisees/{sid}", headers=world.auth("officer_a")).json()
    listed = {s["id"]: s for s in client.get("/supervisees", headers=world.auth("officer_a"),
                                              params={"limit": 200}).json()["items"]}
    assert one["warnings"] == listed[sid]["warnings"] == [NO_AREA_WARNING]


def test_unknown_code_is_refused_and_nothing_is_stored(client, world):
    r = _register(client, world, ["330803", "999999"])
    assert r.status_code == 422 and "999999" in r.json()["detail"] and "330803" not in r.json()["detail"]
    listed = client.get("/supervisees", headers=world.auth("officer_a"), params={"limit": 200}).json()["items"]
    assert "新" not in {s["name"] for s in listed}


def test_a_second_permitted_fence_is_refused_while_the_codes_own_one(client, world):
    sid = _register(client, world, CODES).json()["id"]
    r = client.post(f"/supervisees/{sid}/fences", headers=world.auth("officer_a"),
                    json={"kind": "permitted", "admin_codes": ["330803"]})
    assert r.status_code == 409 and "permitted_area_codes" in r.json()["detail"]


def test_the_codes_fence_changes_only_with_the_codes(client, world, clock):
    """Versioning its shape or retiring it through the fences API would make the record lie."""
    sid = _register(client, world, CODES).json()["id"]
    [fence] = _permitted(client, world, sid)
    officer = world.auth("officer_a")
    r = client.post(f"/fences/{fence['id']}/versions", headers=officer,
                    json={"circle": {"lon": 118.95, "lat": 28.95, "radius_m": 50}})
    assert r.status_code == 409 and f"PATCH /supervisees/{sid}" in r.json()["detail"]
    r = client.post(f"/fences/{fence['id']}/retire", headers=officer)
    assert r.status_code == 409
    clock.advance(minutes=1)
    r = client.post(f"/fences/{fence['id']}/versions", headers=officer, json={"min_fixes": 3})
    assert r.status_code == 201, r.text  # its persistence rule is the officer's to tune
    [after] = _permitted(client, world, sid)
    assert after["id"] == fence["id"]


def test_the_unguarded_warning_is_for_staff_not_for_the_supervisee(client, world, db):
    sup = world.supervisees["a"]  # made by the factory: no permitted fence
    staff = client.get(f"/supervisees/{sup.id}", headers=world.auth("officer_a")).json()
    assert staff["warnings"] and "no permitted area" in staff["warnings"][0]
    own = client.get(f"/supervisees/{sup.id}", headers=world.auth("supervisee_a"))
    assert own.status_code == 200 and own.json()["warnings"] == []
    listed = client.get("/supervisees", headers=world.auth("supervisee_a")).json()["items"]
    assert all(item["warnings"] == [] for item in listed)


def test_an_overlong_code_is_refused_by_shape_not_echoed(client, world):
    r = _register(client, world, ["3" * 5000])
    assert r.status_code == 422 and len(r.text) < 2000
