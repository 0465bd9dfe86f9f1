"""Run Alembic programmatically, so the installed package can migrate itself."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

# This package is the Alembic script directory (it ships in the wheel with its versions).
MIGRATIONS = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
