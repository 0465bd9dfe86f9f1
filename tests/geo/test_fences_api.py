"""Geofences over REST: each kind, datums, versions, retirement, scoping, and the engine round trip."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
import shapely
from geoalchemy2.shape import to_shape
from shapely.geometry import Point, shape
from sqlalchemy import select

from core.audit import AuditEntry
from geo.admin_areas import import_boundary
from geo.boundaries import bundled, load_boundary
from geo.datum import gcj02_to_wgs84, wgs84_to_gcj02
from geo.engine import Circle, Decision, FenceSet, decide
from geo.fences.loading import effective_window, fence_to_engine, load_active_versions, load_versions
from geo.models import FenceVersion

NOT_FOUND = {"detail": "not found"}
LON, LAT = 118.95, 28.95


def square(lon=LON, lat=LAT, d=0.01) -> dict:
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]
    return {"type": "Polygon", "coordinates": [ring]}


CURFEW = [{"start": "22:00", "end": "06:00", "weekdays": [0, 1, 2, 3, 4, 5, 6]}]


def create(client, world, who="officer_a", sup="a", **body):
    return client.post(f"/supervisees/{world.supervisees[sup].id}/fences", headers=world.auth(who), json=body)


def created(client, world, **body) -> dict:
    r = create(client, world, **body)
    assert r.status_code == 201, r.text
    return r.json()


def iso(dt: datetime) -> str:
    return dt.isoformat()


# --- each kind ----------------------------------------------------------------

def test_permitted_polygon(client, world):
    out = created(client, world, kind="permitted", geometry=square(), label="衢江区")
    assert out["kind"] == "permitted" and out["sensitive"] is False and out["current_version"] == 1
    cur = out["current"]
    assert cur["geometry"]["type"] == "Polygon" and cur["radius_m"] is None
    assert (cur["min_fixes"], cur["min_seconds"]) == (2, 60.0)
    assert [v["version"] for v in out["versions"]] == [1]
    got = client.get(f"/fences/{out['id']}", headers=world.auth("officer_a")).json()
    assert shape(got["current"]["geometry"]).equals(shape(square()))


def test_permitted_union_of_admin_areas(client, world, db):
    for code in ("330802", "330803"):
        import_boundary(db, bundled(code), datum="gcj02")
    out = created(client, world, kind="permitted", admin_codes=["330803", "330802"], min_fixes=3, min_seconds=120)
    cur = out["current"]
    assert cur["admin_codes"] == ["330803", "330802"] and cur["raw"] == {"admin_codes": ["330803", "330802"]}
    union = shape(cur["geometry"])
    assert union.geom_type == "Polygon" and len(union.interiors) == 0  # no sliver holes on the shared border
    kecheng, _ = load_boundary(bundled("330802"), "gcj02")
    assert union.contains(kecheng.representative_point())
    assert (cur["min_fixes"], cur["min_seconds"]) == (3, 120.0)


def test_unknown_admin_code_and_admin_codes_on_wrong_kind(client, world):
    r = create(client, world, kind="permitted", admin_codes=["999999"])
    assert r.status_code == 422 and "999999" in r.json()["detail"]
    r = create(client, world, kind="exclusion", admin_codes=["330803"])
    assert r.status_code == 422 and "admin_codes" in r.json()["detail"]


def test_exclusion_circle_in_gcj02_is_converted_raw_kept_and_forced_sensitive(client, world, db):
    glon, glat = wgs84_to_gcj02(LON, LAT)
    out = created(client, world, kind="exclusion", circle={"lon": glon, "lat": glat, "radius_m": 200},
                  datum="gcj02", sensitive=False, label="某小学")
    assert out["sensitive"] is True
    cur = out["current"]
    assert cur["geometry"]["type"] == "Point" and cur["radius_m"] == 200 and cur["datum"] == "gcj02"
    assert cur["raw"] == {"circle": {"lon": glon, "lat": glat, "radius_m": 200.0}, "datum": "gcj02"}
    row = db.scalar(select(FenceVersion).where(FenceVersion.fence_id == out["id"]))
    centre = to_shape(row.geom)
    assert (centre.x, centre.y) == pytest.approx((LON, LAT), abs=1e-8)  # ≈ the WGS-84 point, not the GCJ-02 one
    assert centre.distance(Point(glon, glat)) > 0.003  # ~500 m offset around Quzhou was removed


def test_polygon_in_gcj02_is_stored_converted(client, world, db):
    out = created(client, world, kind="exclusion", geometry=square(), datum="gcj02")
    row = db.scalar(select(FenceVersion).where(FenceVersion.fence_id == out["id"]))
    stored = to_shape(row.geom)
    expected = shapely.transform(shape(square()), lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1])))
    assert stored.equals_exact(expected, 1e-9)
    assert row.raw == {"geometry": square(), "datum": "gcj02"}


def test_curfew_home_circle_with_windows(client, world):
    out = created(client, world, kind="curfew", circle={"lon": LON, "lat": LAT, "radius_m": 100}, curfew=CURFEW)
    assert out["current"]["curfew"] == CURFEW
    r = create(client, world, kind="curfew", circle={"lon": LON, "lat": LAT, "radius_m": 100})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "curfew"
    r = create(client, world, kind="permitted", geometry=square(), curfew=CURFEW)
    assert r.status_code == 422 and "curfew" in r.json()["detail"]
    bad = create(client, world, kind="curfew", circle={"lon": LON, "lat": LAT, "radius_m": 100},
                 curfew=[{"start": "25:00", "end": "06:00"}])
    assert bad.status_code == 422


def test_leave_destination_needs_valid_to(client, world, clock):
    r = create(client, world, kind="leave_destination", geometry=square(lon=120.15, lat=30.28))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "valid_to"
    start, end = clock.now() + timedelta(days=1), clock.now() + timedelta(days=4)
    out = created(client, world, kind="leave_destination", geometry=square(lon=120.15, lat=30.28),
                  valid_from=iso(start), valid_to=iso(end))
    assert datetime.fromisoformat(out["valid_to"]) == end


@pytest.mark.parametrize("body, field", [
    ({"geometry": square(), "circle": {"lon": LON, "lat": LAT, "radius_m": 10}}, "body"),
    ({}, "body"),
    ({"geometry": square(), "min_fixes": 0}, "min_fixes"),
    ({"geometry": square(), "min_fixes": 21}, "min_fixes"),
    ({"geometry": square(), "min_seconds": 3601}, "min_seconds"),
    ({"geometry": square(), "datum": "utm"}, "datum"),
    ({"geometry": square(), "valid_from": "2030-01-01T00:00:00"}, "valid_from"),  # naive
    ({"geometry": square(), "colour": "red"}, "colour"),
])
def test_structural_input_errors(client, world, body, field):
    r = create(client, world, kind="exclusion", **body)
    assert r.status_code == 422, r.text
    assert field in r.text


def test_window_rules(client, world, clock):
    now = clock.now()
    r = create(client, world, kind="exclusion", geometry=square(), valid_from=iso(now - timedelta(days=1)))
    assert r.status_code == 422 and "retroactive" in r.json()["detail"]
    r = create(client, world, kind="exclusion", geometry=square(), valid_from=iso(now + timedelta(hours=2)),
               valid_to=iso(now + timedelta(hours=1)))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "valid_to"


# --- versions and retirement ---------------------------------------------------

def test_new_version_closes_the_previous_at_its_valid_from(client, world, clock, db):
    out = created(client, world, kind="exclusion", circle={"lon": LON, "lat": LAT, "radius_m": 200})
    fid, gen1 = out["id"], out["current"]["gen"]
    clock.advance(minutes=10)
    starts = clock.now() + timedelta(minutes=10)
    r = client.post(f"/fences/{fid}/versions", headers=world.auth("officer_a"),
                    json={"circle": {"lon": LON, "lat": LAT, "radius_m": 300}, "valid_from": iso(starts),
                          "min_fixes": 3})
    assert r.status_code == 201, r.text
    v2 = r.json()
    assert v2["current_version"] == 2 and v2["current"]["radius_m"] == 300 and v2["current"]["min_fixes"] == 3
    assert v2["current"]["min_seconds"] == 60.0  # carried over
    assert v2["current"]["gen"] > gen1
    v1, v2s = v2["versions"]
    assert datetime.fromisoformat(v1["valid_to"]) == starts == datetime.fromisoformat(v2s["valid_from"])
    assert v2s["valid_to"] is None
    rows = {v.version: v for f, v in load_versions(db, supervisee_ids=[world.supervisees["a"].id])[0]
            if f.id == fid}
    assert to_shape(rows[1].geom).equals(to_shape(rows[2].geom)) and (rows[1].radius_m, rows[2].radius_m) == (200, 300)
    # Only the rule changes: geometry and raw carry over.
    r = client.post(f"/fences/{fid}/versions", headers=world.auth("officer_a"),
                    json={"min_seconds": 120, "valid_from": iso(starts + timedelta(minutes=1))})
    assert r.status_code == 201, r.text
    assert r.json()["current"]["radius_m"] == 300 and r.json()["current"]["raw"]["circle"]["radius_m"] == 300


def test_version_rules(client, world, clock):
    out = created(client, world, kind="exclusion", geometry=square(), valid_from=iso(clock.now() + timedelta(hours=1)))
    url, h = f"/fences/{out['id']}/versions", world.auth("officer_a")
    r = client.post(url, headers=h, json={"min_fixes": 3})  # valid_from now: before v1 starts
    assert r.status_code == 422 and "after the current version" in r.json()["detail"]
    assert client.post(url, headers=h, json={}).status_code == 422
    r = client.post(url, headers=h, json={"geometry": square(), "valid_from": iso(clock.now() - timedelta(days=2))})
    assert r.status_code == 422 and "retroactive" in r.json()["detail"]
    r = client.post(url, headers=h, json={"circle": {"lon": LON, "lat": LAT, "radius_m": -1},
                                          "valid_from": iso(clock.now() + timedelta(hours=2))})
    assert r.status_code == 422 and "radius" in r.json()["detail"]


def test_leave_destination_version_keeps_its_end(client, world, clock):
    end = clock.now() + timedelta(days=3)
    out = created(client, world, kind="leave_destination", geometry=square(lon=120.15, lat=30.28), valid_to=iso(end))
    clock.advance(minutes=10)
    r = client.post(f"/fences/{out['id']}/versions", headers=world.auth("officer_a"),
                    json={"geometry": square(lon=120.16, lat=30.28)})
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["current"]["valid_to"]) == end
    assert datetime.fromisoformat(r.json()["versions"][0]["valid_to"]) == clock.now()


def test_retire(client, world, clock, db):
    sid = world.supervisees["a"].id
    out = created(client, world, kind="permitted", geometry=square())
    clock.advance(minutes=10)
    r = client.post(f"/fences/{out['id']}/retire", headers=world.auth("officer_a"))
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["retired_at"]) == clock.now()
    assert datetime.fromisoformat(r.json()["current"]["valid_to"]) == clock.now()
    assert r.json()["current"]["gen"] > out["current"]["gen"]
    listing = client.get(f"/supervisees/{sid}/fences", headers=world.auth("officer_a")).json()
    assert out["id"] not in {f["id"] for f in listing["items"]}
    listing = client.get(f"/supervisees/{sid}/fences", headers=world.auth("officer_a"),
                         params={"include_retired": True}).json()
    assert out["id"] in {f["id"] for f in listing["items"]}
    assert client.post(f"/fences/{out['id']}/retire", headers=world.auth("officer_a")).status_code == 409
    r = client.post(f"/fences/{out['id']}/versions", headers=world.auth("officer_a"), json={"min_fixes": 3})
    assert r.status_code == 409


def test_retiring_before_a_scheduled_version_starts_voids_it(client, world, clock, db):
    sid = world.supervisees["a"].id
    out = created(client, world, kind="exclusion", geometry=square())
    later = clock.now() + timedelta(days=1)
    r = client.post(f"/fences/{out['id']}/versions", headers=world.auth("officer_a"),
                    json={"geometry": square(d=0.02), "valid_from": iso(later)})
    assert r.status_code == 201
    _, gen_before = load_versions(db)
    clock.advance(minutes=10)
    assert client.post(f"/fences/{out['id']}/retire", headers=world.auth("officer_a")).status_code == 200
    rows, gen_after = load_versions(db, min_gen_exclusive=gen_before)
    mine = {v.version: (f, v) for f, v in rows if f.id == out["id"]}
    assert set(mine) == {1, 2}  # both re-stamped, so caches reload both
    f, v2 = mine[2]
    assert effective_window(v2, f) is None and fence_to_engine(v2, f).valid_from.year == 1
    assert effective_window(mine[1][1], f) == (mine[1][1].valid_from, clock.now())
    full, _ = load_active_versions(db, supervisee_ids=[sid])
    assert [(e.id, e.version) for e in full if e.id == out["id"]] == [(out["id"], 1)]
    incremental, gen = load_active_versions(db, since_gen=gen_before, supervisee_ids=[sid])
    assert {(e.id, e.version) for e in incremental} == {(out["id"], 1), (out["id"], 2)} and gen == gen_after


# --- scoping and roles ------------------------------------------------------------

def test_scoping_other_office_is_404(client, world):
    b_fence = created(client, world, who="officer_b", sup="b", kind="permitted", geometry=square())
    r = create(client, world, who="officer_a", sup="b", kind="permitted", geometry=square())
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    b_list, b_one = f"/supervisees/{world.supervisees['b'].id}/fences", f"/fences/{b_fence['id']}"
    for method, path in (("get", b_one), ("get", b_list), ("post", f"{b_one}/retire")):
        r = getattr(client, method)(path, headers=world.auth("officer_a"))
        assert (r.status_code, r.json()) == (404, NOT_FOUND), path
    r = client.post(f"/fences/{b_fence['id']}/versions", headers=world.auth("officer_a"), json={"min_fixes": 3})
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    assert client.get("/fences/999999999", headers=world.auth("officer_a")).json() == NOT_FOUND
    assert client.get(f"/fences/{b_fence['id']}", headers=world.auth("manager")).status_code == 200


def test_roles(client, world):
    fence = created(client, world, kind="permitted", geometry=square())
    assert client.get(f"/fences/{fence['id']}", headers=world.auth("auditor")).status_code == 200
    assert create(client, world, who="auditor", kind="permitted", geometry=square()).status_code == 403
    assert client.post(f"/fences/{fence['id']}/retire", headers=world.auth("auditor")).status_code == 403
    assert client.get(f"/fences/{fence['id']}", headers=world.auth("admin")).status_code == 403
    assert create(client, world, who="admin", kind="permitted", geometry=square()).status_code == 403
    assert create(client, world, who="supervisee_a", kind="permitted", geometry=square()).status_code == 403
    assert created(client, world, who="manager", kind="permitted", geometry=square())["kind"] == "permitted"


def test_supervisee_sees_own_fences_but_never_exclusion_zones(client, world, db):
    sid = world.supervisees["a"].id
    permitted = created(client, world, kind="permitted", geometry=square())
    curfew = created(client, world, kind="curfew", circle={"lon": LON, "lat": LAT, "radius_m": 100}, curfew=CURFEW)
    exclusion = created(client, world, kind="exclusion", circle={"lon": LON, "lat": LAT, "radius_m": 50},
                        label="受害人住所")
    me = world.auth("supervisee_a")
    listing = client.get(f"/supervisees/{sid}/fences", headers=me)
    assert listing.status_code == 200
    assert {f["id"] for f in listing.json()["items"]} == {permitted["id"], curfew["id"]}
    assert listing.json()["total"] == 2 and "受害人" not in listing.text
    assert client.get(f"/fences/{permitted['id']}", headers=me).status_code == 200
    r = client.get(f"/fences/{exclusion['id']}", headers=me)
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    r = client.get(f"/supervisees/{world.supervisees['a2'].id}/fences", headers=me)
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    staff = client.get(f"/supervisees/{sid}/fences", headers=world.auth("officer_a")).json()
    assert {f["id"] for f in staff["items"]} == {permitted["id"], curfew["id"], exclusion["id"]}


def test_writes_and_geometry_reads_are_audited(client, world, db):
    fence = created(client, world, kind="exclusion", geometry=square())
    client.get(f"/fences/{fence['id']}", headers=world.auth("officer_a"))
    client.get(f"/fences/{fence['id']}", headers=world.auth("supervisee_a"))
    client.post(f"/fences/{fence['id']}/retire", headers=world.auth("officer_a"))
    rows = db.execute(select(AuditEntry.action, AuditEntry.outcome, AuditEntry.actor_id)
                      .where(AuditEntry.object_type == "fence", AuditEntry.object_id == str(fence["id"]))
                      .order_by(AuditEntry.seq)).all()
    a, s = world.users["officer_a"].id, world.users["supervisee_a"].id
    assert [tuple(r) for r in rows] == [("fence.create", "ok", a), ("fence.read", "ok", a),
                                        ("fence.read", "not_found", s), ("fence.retire", "ok", a)]


# --- the engine round trip -----------------------------------------------------------

def test_stored_fences_judge_correctly_in_the_engine(client, world, db, clock):
    sid = world.supervisees["a"].id
    glon, glat = wgs84_to_gcj02(LON, LAT)
    permitted = created(client, world, kind="permitted", geometry=square(d=0.05))
    home = created(client, world, kind="curfew", circle={"lon": glon, "lat": glat, "radius_m": 100},
                   datum="gcj02", curfew=CURFEW)
    school = created(client, world, kind="exclusion", geometry=square(lon=LON + 0.02, d=0.002))
    fences, _ = load_active_versions(db, supervisee_ids=[sid])
    by_id = {f.id: f for f in fences}
    assert isinstance(by_id[home["id"]].geometry, Circle) and by_id[home["id"]].curfew[0].start.hour == 22
    assert decide(by_id[permitted["id"]].geometry, [LON], [LAT], [20])[0] == Decision.INSIDE
    assert decide(by_id[permitted["id"]].geometry, [LON + 0.1], [LAT], [20])[0] == Decision.OUTSIDE
    # The home circle was given in GCJ-02: a WGS-84 fix at the true home is inside.
    assert decide(by_id[home["id"]].geometry, [LON], [LAT], [20])[0] == Decision.INSIDE

    fs = FenceSet(fences)
    # 23:30 Shanghai = 15:30 UTC: curfew is active.
    t = (clock.now() + timedelta(days=1)).replace(hour=15, minute=30, second=0).timestamp()
    j = fs.judge([sid, sid], [t, t], [LON, LON + 0.02], [LAT, LAT], [15, 15])
    got = {(int(i), int(fid)): Decision(int(d)) for i, fid, d in zip(j.fix, j.fence_id, j.decision)}
    assert got[(0, permitted["id"])] == Decision.INSIDE
    assert got[(0, home["id"])] == Decision.INSIDE
    assert got[(0, school["id"])] == Decision.OUTSIDE
    assert got[(1, school["id"])] == Decision.INSIDE
    assert got[(1, home["id"])] == Decision.OUTSIDE
    # And the row-pair contract the fence cache uses gives the same values.
    rows, max_gen = load_versions(db, supervisee_ids=[sid])
    assert max_gen == max(v.gen for _, v in rows)
    assert {(fence_to_engine(v, f).id, fence_to_engine(f, v).version) for f, v in rows} == {
        (f.id, f.version) for f in fences}
