"""The database is real PostGIS, and the migrations go up and down cleanly."""
from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from core.db import sqlalchemy_url
from migrations.run import downgrade, upgrade
from tests.conftest import create_database, drop_database


def test_postgis_is_real(db):
    version = db.execute(text("SELECT postgis_version()")).scalar_one()
    assert version.split()[0].startswith("3.")
    # A geography distance only PostGIS can compute: ~111 km per degree of latitude.
    metres = db.execute(text("SELECT ST_Distance('POINT(118.9 28.9)'::geography, 'POINT(118.9 29.9)'::geography)")).scalar_one()
    assert 110_000 < metres < 112_000


def test_migrations_empty_to_head_and_back(server_url):
    url = create_database(server_url, "zj_mig")
    try:
        upgrade(url)
        eng = create_engine(sqlalchemy_url(url))
        with eng.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        assert {"jurisdictions", "users", "supervisees", "devices", "audit_log", "admin_areas"} <= tables
        downgrade(url, "base")
        with eng.connect() as conn:
            left = set(inspect(conn).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
        assert left == set()
        upgrade(url)
        eng.dispose()
    finally:
        drop_database(server_url, url)


def test_models_match_migrations(engine):
    """Autogenerate finds nothing to do: models and migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import migrations.models  # noqa: F401
    from core.db import Base

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    diff = [d for d in diff if "spatial_ref_sys" not in repr(d)]
    assert diff == []


def test_audit_log_is_append_only(db):
    from core.audit import AuditLog
    from core.clock import SystemClock
    from core.principal import RequestContext

    AuditLog(b"k", SystemClock()).record(db, RequestContext(None), action="test")
    db.flush()
    sp = db.begin_nested()
    try:
        db.execute(text("UPDATE audit_log SET outcome = 'x'"))
        raise AssertionError("update allowed")
    except Exception as exc:  # noqa: BLE001
        assert "append-only" in str(exc)
    sp.rollback()
