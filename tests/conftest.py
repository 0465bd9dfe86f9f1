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

import psycopg
import pytest


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
    url = psycopg.conninfo.make_conninfo(server_url, dbname=name)
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
