"""Alembic environment: the URL comes from the caller (migrations.run), never a file."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import migrations.models  # noqa: F401  (registers every table on Base.metadata)
from core.db import Base, sqlalchemy_url

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to):
    # PostGIS owns these; never let autogenerate drop them.
    if type_ == "table" and name in {"spatial_ref_sys"}:
        return False
    return True


def run_migrations_online() -> None:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
