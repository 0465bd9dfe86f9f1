"""Each protocol through its real route, with requests shaped as the real clients send them."""
from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta

from sqlalchemy import func, select

from alerts.models import Alert, AlertEvidence
from geo.ingest.models import Fix
from tests.geo.ingest.conftest import EXCLUDED, HOME, OUTSIDE


def _native(client, tracked, fixes):
    return client.post("/ingest/native", headers=tracked.bearer(), json={"fixes": fixes})


def _fix(i, t, lon, lat, acc=10.0, **extra):
    return {"id": f"c-{i}", "time": t.isoformat(), "lat": lat, "lon": lon, "accuracy": acc, **extra}


def _fixes(db, supervisee_id):
    return db.scalars(select(Fix).where(Fix.supervisee_id == supervisee_id).order_by(Fix.t)).all()


def test_native_batch_stored_and_judged(client, db, tracked, clock):
    t0 = clock.now() - timedelta(minutes=10)
    r = _native(client, tracked, [_fix(i, t0 + timedelta(seconds=30 * i), *HOME) for i in range(5)])
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 5 and r.json()["duplicates"] == 0
    rows = _fixes(db, tracked.supervisee.id)
    assert len(rows) == 5
    # Decisions name fence and version: inside the permitted area (1), outside the exclusion zone (2).
    decided = {tuple(d[:3]) for d in rows[0].decisions}
    assert (tracked.permitted.id, 1, 1) in decided and (tracked.exclusion.id, 1, 2) in decided


def test_replay_is_acknowledged_not_stored_twice_and_conflict_is_409(client, db, tracked, clock):
    t0 = clock.now() - timedelta(minutes=5)
    batch = [_fix(i, t0 + timedelta(seconds=i), *HOME) for i in range(3)]
    assert _native(client, tracked, batch).json()["stored"] == 3
    again = _native(client, tracked, batch)
    assert again.status_code == 200 and again.json() == {**again.json(), "stored": 0, "duplicates": 3}
    assert len(_fixes(db, tracked.supervisee.id)) == 3
    changed = [dict(batch[0], lat=HOME[1] + 0.01)]
    r = _native(client, tracked, changed)
    assert r.status_code == 409 and "c-0" in r.json()["detail"]


def test_bad_fixes_are_refused_with_the_field(client, tracked, clock):
    t = clock.now().isoformat()
    cases = [
        ({"id": "x", "time": t, "lat": 91, "lon": 118.9, "accuracy": 5}, "fixes[0].lat"),
        ({"id": "x", "time": t, "lat": 28.9, "lon": 181, "accuracy": 5}, "fixes[0].lon"),
        ({"id": "x", "lat": 28.9, "lon": 118.9, "accuracy": 5}, "fixes[0].time"),
        ({"id": "x", "time": t, "lat": 28.9, "lon": 118.9, "accuracy": 5, "supervisee_id": 1}, "supervisee_id"),
    ]
    for fix, field in cases:
        r = _native(client, tracked, [fix])
        assert r.status_code == 422, r.text
        assert field in json.dumps(r.json()), (field, r.text)
    raw = '{"fixes":[{"id":"n","time":"%s","lat":NaN,"lon":118.9,"accuracy":5}]}' % t
    r = client.post("/ingest/native", headers={**tracked.bearer(), "content-type": "application/json"}, content=raw)
    assert r.status_code == 422 and "lat" in r.text
    too_many = [_fix(i, clock.now(), *HOME) for i in range(1001)]
    assert _native(client, tracked, too_many).status_code == 422


def test_device_credentials_only(client, tracked, world):
    r = client.post("/ingest/native", headers={"Authorization": "Bearer not-a-device"}, json={"fixes": []})
    assert r.status_code == 401
    # A staff token is not a device credential, and a device secret is not a staff token.
    assert client.post("/ingest/native", headers=world.auth("officer_a"), json={"fixes": []}).status_code == 401
    assert client.get("/supervisees", headers=tracked.bearer()).status_code == 401


def test_suspicious_fixes_kept_flagged_and_alerted(client, db, tracked, clock):
    now = clock.now()
    fixes = [
        _fix(1, now + timedelta(minutes=10), *HOME),  # future
        _fix(2, now - timedelta(minutes=3), *HOME, mock=True),  # mock location
        _fix(3, now - timedelta(minutes=2), *HOME, acc=5000),  # hopeless accuracy
    ]
    r = _native(client, tracked, fixes)
    assert r.status_code == 200 and r.json()["stored"] == 3 and r.json()["flagged"] == 3
    rows = _fixes(db, tracked.supervisee.id)
    assert all(row.excluded and row.decisions == [] for row in rows)
    assert {f for row in rows for f in row.flags} >= {"future", "mock", "accuracy"}
    alert = db.scalar(select(Alert).where(Alert.supervisee_id == tracked.supervisee.id, Alert.kind == "integrity"))
    assert alert is not None and alert.evidence_count == 3


def test_violation_opens_alert_with_evidence(client, db, tracked, clock):
    t0 = clock.now() - timedelta(hours=10)
    inside = [_fix(i, t0 + timedelta(minutes=i), *HOME) for i in range(3)]
    # Two hours later, 65 km west: a plausible drive out of the district.
    t0 += timedelta(hours=2)
    outside = [_fix(10 + i, t0 + timedelta(minutes=5 + i), *OUTSIDE, acc=30) for i in range(3)]
    assert _native(client, tracked, inside + outside).status_code == 200
    alert = db.scalar(select(Alert).where(Alert.supervisee_id == tracked.supervisee.id))
    assert alert.kind == "left_permitted_area" and alert.fence_id == tracked.permitted.id and alert.fence_version == 1
    assert alert.occurred_at == t0 + timedelta(minutes=5)
    ev = db.scalars(select(AlertEvidence).where(AlertEvidence.alert_id == alert.id)).all()
    assert len(ev) >= 2 and all(e.distance_m > 1000 for e in ev)
    assert ev[0].raw and ev[0].datum == "wgs84" and ev[0].detail["rule"]["min_fixes"] == 2
    # More fixes outside add evidence to the same alert.
    more = [_fix(20 + i, t0 + timedelta(minutes=10 + i), *OUTSIDE, acc=30) for i in range(2)]
    _native(client, tracked, more)
    assert db.scalar(select(func.count()).select_from(Alert).where(Alert.supervisee_id == tracked.supervisee.id)) == 1
    db.refresh(alert)
    assert alert.evidence_count > len(ev)
    # Back inside: the alert is cleared (it stays for the officer to resolve).
    back = [_fix(30 + i, t0 + timedelta(hours=3, minutes=i), *HOME) for i in range(3)]
    _native(client, tracked, back)
    db.refresh(alert)
    assert alert.cleared_at == t0 + timedelta(hours=3) and alert.state == "open"


def test_exclusion_zone(client, db, tracked, clock):
    t0 = clock.now() - timedelta(minutes=10)
    _native(client, tracked, [_fix(i, t0 + timedelta(seconds=40 * i), *EXCLUDED, acc=20) for i in range(3)])
    kinds = set(db.scalars(select(Alert.kind).where(Alert.supervisee_id == tracked.supervisee.id)))
    assert kinds == {"entered_exclusion_zone"}


def test_osmand_query_string_as_traccar_client_sends_it(client, db, db_settings_device):
    sup, secret = db_settings_device("osmand")
    ts = 1_767_225_600  # 2026-01-01
    r = client.get(f"/ingest/osmand?id={secret}&timestamp={ts}&lat={HOME[1]}&lon={HOME[0]}&speed=0.0&bearing=0.0"
                   "&altitude=70.0&accuracy=12.0&batt=87.0")
    assert r.status_code == 200 and r.text == "OK"
    r = client.post("/ingest/osmand", data={"id": secret, "timestamp": str(ts + 60), "lat": str(HOME[1]),
                                            "lon": str(HOME[0]), "accuracy": "9.0", "batt": "86.0"})
    assert r.status_code == 200
    body = {"device_id": secret, "location": {"timestamp": "2026-01-01T00:02:00.000Z", "uuid": "a1b2",
            "coords": {"latitude": HOME[1], "longitude": HOME[0], "accuracy": 8, "speed": 0, "heading": -1,
                       "altitude": 70}, "is_moving": False, "odometer": 0, "event": "motionchange",
            "battery": {"level": 0.85, "is_charging": False}, "activity": {"type": "still"}, "extras": {}}}
    r = client.post("/ingest/osmand", json=body)
    assert r.status_code == 200, r.text
    assert len(_fixes(db, sup.id)) == 3
    # Sending the same OsmAnd fix again is acknowledged and not stored twice.
    client.get(f"/ingest/osmand?id={secret}&timestamp={ts}&lat={HOME[1]}&lon={HOME[0]}&accuracy=12.0&batt=87.0")
    assert len(_fixes(db, sup.id)) == 3
    assert client.get(f"/ingest/osmand?id=wrong&timestamp={ts}&lat=1&lon=1").status_code == 401
    assert client.get(f"/ingest/osmand?id={secret}&lat=1&lon=1").status_code == 422


def test_osmand_secret_never_logged(client, db_settings_device, caplog):
    sup, secret = db_settings_device("osmand")
    with caplog.at_level(logging.DEBUG):
        client.get(f"/ingest/osmand?id={secret}&timestamp=1767225600&lat={HOME[1]}&lon={HOME[0]}&accuracy=5")
        client.get(f"/ingest/osmand?id={secret}&timestamp=oops&lat={HOME[1]}&lon={HOME[0]}")
    assert secret not in caplog.text


def test_owntracks_http_mode(client, db, db_settings_device):
    sup, secret = db_settings_device("owntracks", owntracks_user="ding", owntracks_device="phone")
    auth = "Basic " + base64.b64encode(f"ding:{secret}".encode()).decode()
    headers = {"Authorization": auth, "X-Limit-U": "ding", "X-Limit-D": "phone", "Content-Type": "application/json"}
    loc = {"_type": "location", "acc": 15, "alt": 70, "batt": 78, "bs": 1, "conn": "w", "created_at": 1767225600,
           "lat": HOME[1], "lon": HOME[0], "m": 1, "tid": "dp", "tst": 1767225600, "vac": 3, "vel": 0,
           "inregions": ["home"]}
    r = client.post("/ingest/owntracks", headers=headers, content=json.dumps(loc))
    assert r.status_code == 200 and r.json() == []
    for other in ({"_type": "transition", "event": "leave", "tst": 1767225700, "wtst": 1, "acc": 10, "desc": "home",
                   "lat": HOME[1], "lon": HOME[0], "tid": "dp", "t": "c"},
                  {"_type": "lwt", "tst": 1767225800}, {"_type": "waypoints", "waypoints": []}):
        r = client.post("/ingest/owntracks", headers=headers, content=json.dumps(other))
        assert r.status_code == 200 and r.json() == []
    assert len(_fixes(db, sup.id)) == 1
    bad = {**headers, "Authorization": "Basic " + base64.b64encode(b"ding:wrong").decode()}
    assert client.post("/ingest/owntracks", headers=bad, content=json.dumps(loc)).status_code == 401
    other_user = {**headers, "X-Limit-U": "someone-else"}
    assert client.post("/ingest/owntracks", headers=other_user, content=json.dumps(loc)).status_code == 401


GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="OsmAnd" xmlns="http://www.topografix.com/GPX/1/1">
  <trk><name>track</name><trkseg>
    <trkpt lat="{lat}" lon="{lon}"><ele>70</ele><time>2026-01-01T00:00:00Z</time><hdop>2</hdop></trkpt>
    <trkpt lat="{lat}" lon="{lon2}"><ele>71</ele><time>2026-01-01T00:01:00Z</time><hdop>2</hdop></trkpt>
  </trkseg></trk>
</gpx>"""


def test_gpx_upload_by_officer(client, db, tracked, world):
    body = GPX.format(lat=HOME[1], lon=HOME[0], lon2=HOME[0] + 0.001)
    url = f"/supervisees/{tracked.supervisee.id}/gpx"
    r = client.post(url, headers={**world.auth("officer_a"), "content-type": "application/gpx+xml"}, content=body)
    assert r.status_code == 200 and r.json()["stored"] == 2, r.text
    again = client.post(url, headers={**world.auth("officer_a"), "content-type": "application/gpx+xml"}, content=body)
    assert again.json()["stored"] == 0 and again.json()["duplicates"] == 2
    other = client.post(url, headers=world.auth("officer_b"), content=body)
    assert other.status_code == 404
    broken = client.post(url, headers=world.auth("officer_a"), content="<gpx><trkpt lat='x'/></gpx>")
    assert broken.status_code == 422
