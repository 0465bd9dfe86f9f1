"""The travel corridor: the road between home and a distant destination is allowed only while travelling."""
from __future__ import annotations

from datetime import datetime, timedelta

from geoalchemy2.shape import to_shape
from sqlalchemy import select

from geo.geometry_input import area_km2
from geo.models import Fence, FenceVersion
from tests.leave.conftest import HANGZHOU, HOME, OUTSIDE, alerts_of, fixes, leave_body

ALLOWANCE = timedelta(hours=6)
# On the straight line from home to Hangzhou (~190 km), well outside Qujiang and ~50+ km from Hangzhou.
ROUTE = [(HOME[0] + (HANGZHOU[0] - HOME[0]) * f, HOME[1] + (HANGZHOU[1] - HOME[1]) * f) for f in (0.3, 0.5, 0.7)]


def _approved(client, auth, clock, days: float = 3) -> tuple[dict, datetime]:
    start = clock.now() + timedelta(days=1)
    leave = client.post("/leave", headers=auth("leaver"), json=leave_body(start, days=days)).json()
    r = client.post(f"/leave/{leave['id']}/approve", headers=auth("officer_a"), json={"reason": "同意"})
    assert r.status_code == 200, r.text
    return r.json(), start


def _corridors(db, leave_id: int) -> dict[str, tuple[Fence, list[FenceVersion]]]:
    out = {}
    for f in db.scalars(select(Fence).where(Fence.source["leave_id"].as_integer() == leave_id,
                                            Fence.source.has_key("corridor")).order_by(Fence.id)):
        db.refresh(f)
        versions = list(db.scalars(select(FenceVersion).where(FenceVersion.fence_id == f.id)
                                   .order_by(FenceVersion.version)))
        for v in versions:
            db.refresh(v)
        out.setdefault(f.source["corridor"], []).append((f, versions))
    return out


def _drive(client, leaver, t0: datetime, points, tag: str) -> None:
    """Five fixes (2 min) at each point, half an hour apart: ~38 km at car speed, no "impossible speed" flag."""
    for k, point in enumerate(points):
        r = client.post("/ingest/native", headers=leaver.device(),
                        json=fixes(t0 + timedelta(minutes=30 * k), point, tag=f"{tag}{k}"))
        assert r.status_code == 200, r.text


def test_approval_creates_two_corridor_legs_covering_the_route(client, db, auth, clock, leaver):
    leave, start = _approved(client, auth, clock)
    legs = _corridors(db, leave["id"])
    assert set(legs) == {"outbound", "return"}
    [(out, [out_v])], [(back, [back_v])] = legs["outbound"], legs["return"]
    assert out.kind == back.kind == "leave_destination" and "travel corridor" in out.label
    assert (out_v.valid_from, out_v.valid_to) == (start - ALLOWANCE, start + ALLOWANCE)
    end = start + timedelta(days=3)
    assert (back_v.valid_from, back_v.valid_to) == (end - ALLOWANCE, end + ALLOWANCE)
    poly = to_shape(out_v.geom)
    from shapely.geometry import LineString, Point

    assert poly.is_valid and poly.covers(LineString([HOME, HANGZHOU])) and not poly.covers(Point(*OUTSIDE))
    assert len(poly.exterior.coords) <= 1_000 and 5_000 < area_km2(poly) < 15_000  # ~190 km x 40 km
    assert out_v.raw["corridor"]["buffer_m"] == 20_000


def test_on_the_road_during_the_travel_windows_is_no_violation(client, db, auth, clock, leaver):
    _, start = _approved(client, auth, clock)
    clock.set(start + timedelta(hours=2))
    _drive(client, leaver, start + timedelta(minutes=20), ROUTE, "out")  # until start + 1 h 22 min
    end = start + timedelta(days=3)
    clock.set(end + timedelta(hours=1))
    _drive(client, leaver, end - timedelta(minutes=50), list(reversed(ROUTE)), "back")  # until end + 12 min
    assert alerts_of(db, leaver.supervisee.id) == []


def test_on_the_road_mid_leave_is_a_violation(client, db, auth, clock, leaver):
    _, start = _approved(client, auth, clock)
    clock.set(start + timedelta(days=1, hours=1))
    _drive(client, leaver, start + timedelta(days=1), ROUTE[1:2], "mid")
    [alert] = alerts_of(db, leaver.supervisee.id)
    assert alert.kind == "outside_leave_destination"


def test_far_off_the_corridor_while_travelling_is_a_violation(client, db, auth, clock, leaver):
    _, start = _approved(client, auth, clock)
    clock.set(start + timedelta(hours=2))
    _drive(client, leaver, start + timedelta(minutes=20), [OUTSIDE], "off")  # ~65 km west of home
    [alert] = alerts_of(db, leaver.supervisee.id)
    assert alert.kind == "outside_leave_destination"


def test_cut_short_moves_the_return_leg_and_return_report_ends_the_corridor(client, db, auth, clock, leaver):
    leave, start = _approved(client, auth, clock, days=5)
    clock.set(start + timedelta(days=1))
    sooner = start + timedelta(days=2)
    r = client.post(f"/leave/{leave['id']}/cut-short", headers=auth("leaver"),
                    json={"return_at": sooner.isoformat(), "reason": "提前结束"})
    assert r.status_code == 200, r.text
    legs = _corridors(db, leave["id"])
    [(out, [out_v])] = legs["outbound"]  # over already: untouched
    assert out.retired_at is None and out_v.valid_to == start + ALLOWANCE
    (old, _), (new, [new_v]) = legs["return"]  # not started: replaced, never rewritten
    assert old.retired_at == clock.now() and new.retired_at is None
    assert (new_v.valid_from, new_v.valid_to) == (sooner - ALLOWANCE, sooner + ALLOWANCE)
    clock.set(sooner - timedelta(hours=1))
    r = client.post(f"/leave/{leave['id']}/return", headers=auth("leaver"),
                    json={"lon": HOME[0], "lat": HOME[1], "accuracy_m": 20})
    assert r.status_code == 200, r.text
    db.refresh(new)
    db.refresh(new_v)
    assert new.retired_at == clock.now() and new_v.valid_to == clock.now()


def test_withdrawal_before_departure_retires_the_corridor(client, db, auth, clock, leaver):
    leave, _ = _approved(client, auth, clock)
    r = client.post(f"/leave/{leave['id']}/withdraw", headers=auth("leaver"), json={"reason": "不去了"})
    assert r.status_code == 200, r.text
    legs = _corridors(db, leave["id"])
    assert all(f.retired_at == clock.now() for leg in legs.values() for f, _ in leg) and len(legs) == 2
