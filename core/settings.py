"""Settings, split by concern, all read from ``ZHIJIAO_*`` environment variables.

Each group is its own class so a module depends only on the settings it uses
(tipg style). ``get_settings()`` caches one aggregate per process; tests build
their own instances instead of mutating the environment.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_COMMON = dict(env_prefix="ZHIJIAO_", extra="ignore", env_file=None)


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(**_COMMON)
    database_url: str = Field(
        "",
        description="libpq / SQLAlchemy URL of the database. ./dev sets it to its private cluster when unset.",
    )
    db_pool_size: int = Field(10, description="Connections kept open per server process.")


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(**_COMMON)
    jwt_secret: str = Field("", description="HMAC key for access tokens (HS256). Required; ./dev generates one.")
    jwt_issuer: str = Field("zhijiao", description="`iss` claim written and required.")
    jwt_audience: str = Field("zhijiao-api", description="`aud` claim written and required.")
    access_token_minutes: int = Field(15, description="Lifetime of an access token.")
    id_hash_key: str = Field("", description="Key for the keyed hash of national ID numbers. Required.")
    device_key: str = Field("", description="Key for the keyed hash of device credentials. Required.")


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(**_COMMON)
    audit_key: str = Field("", description="HMAC key of the audit hash chain; kept out of the database. Required.")
    audit_checkpoint_path: Path = Field(
        Path(".data/audit-checkpoints.jsonl"), description="File (outside the database) for signed audit checkpoints."
    )


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(**_COMMON)
    max_page_size: int = Field(200, description="Hard upper limit of `limit` on list routes.")
    allowed_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8000", "http://localhost:8000"],
        description="Origins allowed to open the alert websocket (JSON list).",
    )
    bus_url: str = Field("memory://", description="Event bus: memory://, postgresql://…, or nats://host:port.")


class Settings:
    """All settings of one process."""

    def __init__(self) -> None:
        self.db = DatabaseSettings()
        self.auth = AuthSettings()
        self.audit = AuditSettings()
        self.api = ApiSettings()

    def require_secrets(self) -> None:
        """Refuse to start without keys: a default key would be a shared secret."""
        missing = [
            name
            for name, value in (
                ("ZHIJIAO_DATABASE_URL", self.db.database_url),
                ("ZHIJIAO_JWT_SECRET", self.auth.jwt_secret),
                ("ZHIJIAO_ID_HASH_KEY", self.auth.id_hash_key),
                ("ZHIJIAO_DEVICE_KEY", self.auth.device_key),
                ("ZHIJIAO_AUDIT_KEY", self.audit.audit_key),
            )
            if not value
        ]
        if missing:
            raise RuntimeError("missing required settings: " + ", ".join(missing) + " (./dev sets them for development)")


@lru_cache
def get_settings() -> Settings:
    return Settings()
