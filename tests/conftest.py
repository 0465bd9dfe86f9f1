"""Shared fixtures: a real PostgreSQL + PostGIS, started by ./dev or given by URL.

Contract (other test modules rely on these names):
- ``server_url``: libpq URL of a server where we may create databases
  (ZHIJIAO_TEST_SERVER_URL, set by ./dev; default the local socket server).
- ``pg_conn``: a psycopg connection to a scratch database with PostGIS,
  inside a transaction that is rolled back after the test.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from fastapi import Request


def _server_url() -> str:
    return os.environ.get("ZHIJIAO_TEST_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def server_url() -> str:
    return _server_url()


@pytest.fixture(scope="session")
def scratch_postgis_url(server_url: str) -> Iterator[str]:
    """A throwaway database with PostGIS, dropped at the end of the session."""
    name = f"zj_scratch_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    from core.db import with_database

    url = with_database(server_url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    yield url
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_conn(scratch_postgis_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(scratch_postgis_url) as conn:
        yield conn
        conn.rollback()


# --- the migrated application database ------------------------------------------

import secrets as _secrets
from datetime import UTC, datetime

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

for _name in ("JWT_SECRET", "ID_HASH_KEY", "DEVICE_KEY", "AUDIT_KEY"):
    os.environ.setdefault(f"ZHIJIAO_{_name}", _secrets.token_hex(16))
os.environ.setdefault("ZHIJIAO_DATABASE_URL", "postgresql://unused")
if "ZHIJIAO_MEDIA_KEYS" not in os.environ:
    import base64 as _base64

    os.environ["ZHIJIAO_MEDIA_KEYS"] = "test1:" + _base64.b64encode(_secrets.token_bytes(32)).decode()
    os.environ["ZHIJIAO_MEDIA_KEY_ID"] = "test1"
# Never let a test write checkpoints of a test database into the developer's
# real checkpoint file (./dev points the variable at .data/).
import tempfile as _tempfile

os.environ["ZHIJIAO_AUDIT_CHECKPOINT_PATH"] = os.path.join(_tempfile.mkdtemp(prefix="zj-audit-"), "checkpoints.jsonl")
# Nor media files into the developer's media directory.
os.environ["ZHIJIAO_MEDIA_DIR"] = _tempfile.mkdtemp(prefix="zj-media-")


def create_database(server_url: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    from core.db import with_database

    return with_database(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    from urllib.parse import urlsplit

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def migrated_database(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh database migrated to head, dropped on exit: for tests that need
    committed data, several processes or a CLI of their own."""
    from migrations.run import upgrade

    url = create_database(server_url, prefix)
    try:
        upgrade(url)
        yield url
    finally:
        drop_database(server_url, url)


@pytest.fixture(scope="session")
def migrated_url(server_url: str) -> Iterator[str]:
    """One database migrated to head for the whole session (tests roll back)."""
    with migrated_database(server_url, "zj_test") as url:
        yield url


@pytest.fixture(scope="session")
def engine(migrated_url: str) -> Iterator[Engine]:
    from core.db import sqlalchemy_url

    eng = create_engine(sqlalchemy_url(migrated_url), pool_size=5)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test.

    Commits by the code under test become savepoint releases
    (join_transaction_mode="create_savepoint"), so nothing leaks.
    """
    conn = engine.connect()
    outer = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        conn.close()


@pytest.fixture
def settings():
    from core.settings import Settings

    value = Settings()
    # Background jobs would commit behind the rolled-back test transaction;
    # tests call each job directly with the manual clock instead.
    value.api.jobs_enabled = False
    # Likewise the ingest group commit (it owns its transactions): in-process
    # tests ingest in the request's own unit of work, on the shared session.
    # Servers the tests start (tests/servers.py) run it, as in production.
    value.ingest.group_commit = False
    # Random bureau review of registrations would make tests that register flaky;
    # tests of the review set the share themselves.
    value.supervision.registration_review_share = 0.0
    value.api.allowed_hosts = [*value.api.allowed_hosts, "testserver"]  # Starlette's TestClient
    return value


@pytest.fixture
def clock():
    from core.clock import ManualClock

    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def job(db, settings, clock):
    """A JobContext factory: ``job()`` at the clock's time, ``job(now)`` at another."""
    from core.audit import AuditLog
    from core.jobs import JobContext

    audit = AuditLog(settings.audit.audit_key.encode(), clock)

    def make(now=None):
        return JobContext(db=db, now=now or clock.now(), settings=settings, audit=audit)

    return make


@pytest.fixture
def app(settings, clock, engine, db):
    from api.app import create_app
    from api.deps import get_db

    application = create_app(settings, clock=clock, engine=engine)

    def _shared_session(request: Request):  # noqa: ARG001 - as get_db's (api.deps.transaction calls it so)
        # What the test set up is committed before the request, as in real
        # use (a savepoint release inside the test's rolled-back transaction):
        # a refused request rolls its own transaction back (api.deps), and
        # must not take the fixtures with it.
        db.commit()
        yield db

    application.dependency_overrides[get_db] = _shared_session
    return application


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def world(db, settings, clock):
    """Two offices under one bureau, with staff and supervisees in each."""
    from tests.factories import build_world

    return build_world(db, settings, clock)
