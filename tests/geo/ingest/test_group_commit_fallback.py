"""The group commit's fallback, on a real database: when a wave fails for a reason no
refusal explains (here a database error only one request causes), the group is
rolled back and each request written alone in a savepoint. Only that request gets
the error; the others are stored, and nobody is answered OK for rolled-back writes.

The committer's thread-side method is called directly (``_write``, as its loop does
from a worker thread), on the app's own sessions.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import create_engine

from core.db import sqlalchemy_url
from core.settings import Settings
from geo.ingest.devices import DeviceIdentity
from geo.ingest.fix import DecodedFix
from geo.ingest.group_commit import GroupCommitter, _Request
from tests.conftest import migrated_database
from tests.geo.ingest.test_group_commit import FAR, _seed


def _fix(key: str, t: datetime) -> DecodedFix:
    return DecodedFix(client_fix_id=key, time=t, lat=FAR[1], lon=FAR[0], datum="wgs84", accuracy_m=10.0,
                      raw={"id": key})


def test_a_database_error_of_one_request_fails_only_that_request(server_url: str, caplog) -> None:
    from api.app import create_app

    settings = Settings()
    with migrated_database(server_url, "zj_group_fallback") as url:
        scene = _seed(url)
        engine = create_engine(sqlalchemy_url(url))
        try:
            app = create_app(settings, engine=engine)
            state = app.state
            committer = GroupCommitter(session_factory=state.session_factory, settings=settings, clock=state.clock,
                                       fences=state.fence_cache, devices=state.device_cache)
            t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
            real = {key: DeviceIdentity(scene.device_ids[key], scene.world.supervisees[key].id,
                                        scene.world.supervisees[key].office_id, "ordinary", "native", "active")
                    for key in ("a", "b")}
            # A device whose supervisee does not exist: the COPY's foreign key refuses it,
            # a database error of this request alone.
            ghost = DeviceIdentity(None, 987_654_321, real["a"].office_id, "ordinary", "gpx", "active")

            def request(device: DeviceIdentity, key: str) -> _Request:
                return _Request(lambda lookup: (device, [_fix(key, t)]), None)

            group = [request(real["a"], "fb-a"), request(ghost, "fb-ghost"), request(real["b"], "fb-b")]
            with caplog.at_level(logging.ERROR, logger="zhijiao.ingest"):
                committer._write(group)
            assert "writing each alone to find which" in caplog.text  # the wave failed, then one by one
            a, bad, b = group
            assert a.error is None and a.result["stored"] == 1
            assert b.error is None and b.result["stored"] == 1
            assert bad.result is None and "foreign key" in str(bad.error).lower(), bad.error
            with psycopg.connect(url) as conn:
                keys = {r[0] for r in conn.execute("SELECT raw->>'id' FROM fixes")}
            assert keys == {"fb-a", "fb-b"}
        finally:
            engine.dispose()
