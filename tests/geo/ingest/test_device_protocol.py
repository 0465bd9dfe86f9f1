"""A device credential is accepted only by its own device's protocol (issue 12, hole 9).

A native app's bearer secret must not work as an OsmAnd ``id`` in a URL (where
it would end up in proxies' and browsers' logs), nor the other way round; the
refusal is the same 401 as an unknown credential, so a probe learns nothing.
"""
from __future__ import annotations

import base64
from datetime import timedelta

from sqlalchemy import func, select

from geo.ingest.models import Fix
from tests.geo.ingest.conftest import HOME

TS = 1_767_225_600  # 2026-01-01


def _osmand_get(client, secret: str):
    return client.get(f"/ingest/osmand?id={secret}&timestamp={TS}&lat={HOME[1]}&lon={HOME[0]}&accuracy=12.0")


def _native(client, secret: str, clock):
    t = (clock.now() - timedelta(minutes=5)).isoformat()
    return client.post("/ingest/native", headers={"Authorization": f"Bearer {secret}"},
                       json={"fixes": [{"id": "p-1", "time": t, "lat": HOME[1], "lon": HOME[0], "accuracy": 10.0}]})


def _stored(db, supervisee_id: int) -> int:
    return db.scalar(select(func.count()).select_from(Fix).where(Fix.supervisee_id == supervisee_id))


def test_native_secret_is_refused_in_an_osmand_url(client, db, db_settings_device):
    sup, secret = db_settings_device("native")
    unknown = _osmand_get(client, "x" * len(secret))
    r = _osmand_get(client, secret)
    assert r.status_code == 401, r.text
    assert r.content == unknown.content and r.status_code == unknown.status_code
    assert _stored(db, sup.id) == 0


def test_osmand_id_is_refused_as_a_native_bearer_token(client, db, clock, db_settings_device):
    sup, secret = db_settings_device("osmand")
    unknown = _native(client, "x" * len(secret), clock)
    r = _native(client, secret, clock)
    assert r.status_code == 401, r.text
    assert r.content == unknown.content
    assert _stored(db, sup.id) == 0


def test_owntracks_secret_is_refused_elsewhere(client, db, clock, db_settings_device):
    sup, secret = db_settings_device("owntracks", owntracks_user="ding", owntracks_device="phone")
    assert _native(client, secret, clock).status_code == 401
    assert _osmand_get(client, secret).status_code == 401
    assert _stored(db, sup.id) == 0


def test_native_secret_is_refused_by_owntracks_basic_auth(client, db, db_settings_device):
    sup, secret = db_settings_device("native")
    headers = {"Authorization": "Basic " + base64.b64encode(f"ding:{secret}".encode()).decode()}
    r = client.post("/ingest/owntracks", headers=headers, json={"_type": "location", "lat": HOME[1], "lon": HOME[0],
                                                                 "tst": TS, "acc": 10})
    assert r.status_code == 401
    assert _stored(db, sup.id) == 0


def test_each_protocol_still_accepts_its_own_device(client, db, clock, db_settings_device):
    native_sup, native_secret = db_settings_device("native")
    assert _native(client, native_secret, clock).status_code == 200
    osmand_sup, osmand_secret = db_settings_device("osmand")
    assert _osmand_get(client, osmand_secret).status_code == 200
    assert _stored(db, native_sup.id) == 1 and _stored(db, osmand_sup.id) == 1
