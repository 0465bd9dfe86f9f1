"""GET /supervisees/{id}/fixes: scoped like the supervisee record, never for
admins, audited on every read (refusals included), and fail closed: without
its audit row a read returns nothing."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import Point
from sqlalchemy import select, text

from core.audit import AuditEntry
from geo.ingest.models import Fix
from tests.factories import add_fence

NOT_FOUND = {"detail": "not found"}
T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def add_fixes(db, supervisee, n: int, *, start: datetime = T0, step: timedelta = timedelta(minutes=5),
              purpose: str = "信息化核查") -> list[Fix]:
    rows = []
    for i in range(n):
        flags = ["accuracy"] if i % 4 == 3 else []
        rows.append(Fix(supervisee_id=supervisee.id, device_id=None, dedup_key=f"test:{supervisee.id}:{i}",
                        fingerprint=f"{i:064d}", t=start + i * step, received_at=start + i * step,
                        lon=118.95 + i * 1e-4, lat=28.95 - i * 1e-4, accuracy_m=600.0 if flags else 12.5,
                        datum="wgs84", protocol="native", raw={"i": i}, flags=flags, excluded=bool(flags),
                        purpose=purpose))
    db.add_all(rows)
    db.flush()
    return rows


def audit_rows(db, action: str, object_id) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action,
                                                    AuditEntry.object_id == str(object_id)).order_by(AuditEntry.seq)))


def window(start=T0, end=T0 + timedelta(days=1)) -> dict[str, str]:
    return {"since": start.isoformat(), "until": end.isoformat()}


def test_officer_reads_a_track_and_the_read_is_audited(client, world, db):
    sup = world.supervisees["a"]
    add_fixes(db, sup, 10)
    r = client.get(f"/supervisees/{sup.id}/fixes", headers=world.auth("officer_a"), params=window())
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["supervisee_id"], body["count"], body["more"], body["datum"]) == (sup.id, 10, False, "wgs84")
    first, fourth = body["fixes"][0], body["fixes"][3]
    assert set(first) == {"id", "t", "lon", "lat", "accuracy_m", "flags", "excluded", "purpose"}
    assert first["purpose"] == "信息化核查"
    assert datetime.fromisoformat(first["t"]) == T0
    assert (first["lon"], first["lat"], first["accuracy_m"], first["flags"], first["excluded"]) == \
        (118.95, 28.95, 12.5, [], False)
    assert (fourth["flags"], fourth["excluded"]) == (["accuracy"], True)
    ts = [f["t"] for f in body["fixes"]]
    assert ts == sorted(ts)
    (row,) = audit_rows(db, "track.read", sup.id)
    assert (row.outcome, row.actor_id, row.object_type) == ("ok", world.users["officer_a"].id, "supervisee")
    assert row.detail == {"since": T0.isoformat(timespec="microseconds"),
                          "until": (T0 + timedelta(days=1)).isoformat(timespec="microseconds"), "count": 10,
                          "basis": ["信息化核查"]}
    assert row.request_id == r.headers["x-request-id"]


def test_window_limit_and_paging(client, world, db):
    sup = world.supervisees["a"]
    add_fixes(db, sup, 12)  # every 5 minutes from T0
    headers = world.auth("manager")
    part = client.get(f"/supervisees/{sup.id}/fixes", headers=headers,
                      params=window(T0 + timedelta(minutes=10), T0 + timedelta(minutes=30))).json()
    assert part["count"] == 4  # 10, 15, 20, 25: until is exclusive
    paged = client.get(f"/supervisees/{sup.id}/fixes", headers=headers, params={**window(), "limit": 5}).json()
    assert (paged["count"], paged["more"]) == (5, True)
    rest = client.get(f"/supervisees/{sup.id}/fixes", headers=headers,
                      params={**window(), "since": paged["fixes"][-1]["t"], "limit": 100}).json()
    assert rest["count"] == 8 and not rest["more"]  # the boundary fix again, then the rest
    assert [r.detail["count"] for r in audit_rows(db, "track.read", sup.id)] == [4, 5, 8]


def test_default_window_is_the_last_day(client, world, db, clock):
    sup = world.supervisees["a"]
    add_fixes(db, sup, 3, start=clock.now() - timedelta(hours=30), step=timedelta(hours=10))  # -30 h, -20 h, -10 h
    body = client.get(f"/supervisees/{sup.id}/fixes", headers=world.auth("officer_a")).json()
    assert body["count"] == 2
    assert datetime.fromisoformat(body["until"]) == clock.now()


@pytest.mark.parametrize("who, key, status", [
    ("officer_a", "a", 200), ("manager", "a", 200), ("auditor", "b", 200), ("supervisee_a", "a", 200),
    ("officer_a", "b", 404), ("officer_b", "a", 404), ("supervisee_a", "a2", 404), ("supervisee_a", "b", 404),
    ("admin", "a", 403),
])
def test_scope(client, world, db, who, key, status):
    sup = world.supervisees[key]
    add_fixes(db, sup, 2)
    r = client.get(f"/supervisees/{sup.id}/fixes", headers=world.auth(who), params=window())
    assert r.status_code == status, r.text
    if status == 404:
        assert r.json() == NOT_FOUND
    if status != 200:
        assert "lon" not in r.text
    (row,) = audit_rows(db, "track.read", sup.id)
    assert row.outcome == {200: "ok", 404: "not_found", 403: "forbidden"}[status]


def test_missing_supervisee_looks_like_out_of_scope(client, world):
    r = client.get("/supervisees/999999999/fixes", headers=world.auth("officer_a"), params=window())
    assert (r.status_code, r.json()) == (404, NOT_FOUND)


def test_no_fence_geometry_in_a_track(client, world, db):
    sup = world.supervisees["a"]
    add_fixes(db, sup, 2)
    add_fence(db, sup, "exclusion", Point(118.9512345, 28.9498765).buffer(0.001), label="被害人住处")
    r = client.get(f"/supervisees/{sup.id}/fixes", headers=world.auth("officer_a"), params=window())
    assert r.status_code == 200
    assert "被害人" not in r.text and "118.9512345" not in r.text and "geom" not in r.text


@pytest.mark.parametrize("params, field", [
    ({"since": "2026-03-02T00:00:00", "until": "2026-03-03T00:00:00+08:00"}, "query.since"),
    ({"since": "2026-03-03T00:00:00Z", "until": "2026-03-02T00:00:00Z"}, "query.since"),
    ({"limit": 0}, "query.limit"),
    ({"limit": 100_000}, "query.limit"),
    ({"since": "yesterday"}, "query.since"),
])
def test_bad_parameters_are_422_with_the_field(client, world, params, field):
    r = client.get(f"/supervisees/{world.supervisees['a'].id}/fixes", headers=world.auth("officer_a"), params=params)
    assert r.status_code == 422, r.text
    assert field in {e["field"] for e in r.json().get("errors", [])}, r.json()


# ------------------------------------------------------------------ fail closed

@pytest.fixture
def broken_audit(db, world):
    """Every audit insert fails, as when the audit table is unwritable (a trigger
    created inside the test's transaction, so it is rolled back with it)."""
    db.execute(text("""
        CREATE FUNCTION zj_test_audit_down() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit storage unavailable (test)'; END $$;
        CREATE TRIGGER audit_down BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION zj_test_audit_down();
    """))
    # Committed to the outer test transaction: the failed request rolls back its
    # own work (and only that), not the world or the trigger.
    db.commit()


def test_failing_audit_write_fails_the_reads(client, world, db, broken_audit):
    sup = world.supervisees["a"]
    add_fixes(db, sup, 5)
    db.commit()
    before = db.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    for path in (f"/supervisees/{sup.id}", f"/supervisees/{sup.id}/fixes"):
        r = client.get(path, headers=world.auth("officer_a"), params=window() if "fixes" in path else None)
        assert r.status_code == 503, r.text
        assert r.json() == {"detail": "audit trail unavailable: the request was not carried out; try again later"}
        assert sup.name not in r.text and "lon" not in r.text and "118.95" not in r.text
    assert db.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) == before


def test_failing_audit_write_fails_a_refused_read_too(client, world, db, broken_audit):
    # Even the 404 of an out-of-scope read needs its audit row; without it, 503.
    r = client.get(f"/supervisees/{world.supervisees['b'].id}/fixes", headers=world.auth("officer_a"),
                   params=window())
    assert r.status_code == 503
