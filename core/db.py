"""Engine and session factory. The request (or job) owns the transaction."""
from __future__ import annotations

import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    pass


def sqlalchemy_url(url: str) -> str:
    """Accept plain libpq URLs and pick the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(f"unsupported database URL scheme in {url.split(':', 1)[0]!r}; use postgresql://")


def libpq_url(url: str) -> str:
    """The same database as a plain libpq URL, for raw psycopg connections (LISTEN)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    return create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping per checkout (a round trip on every request); connections
        # are recycled instead, and a dead one fails one request, not all.
        pool_pre_ping=False,
        pool_recycle=1800,
        # Statement parameters never go into exception messages, hence never into
        # a log line: they include credential hashes and personal data.
        hide_parameters=True,
        # Acknowledged means durable: never let a session turn this off. A
        # database that stops answering fails a connection attempt after
        # connect_timeout seconds instead of holding the request for minutes.
        connect_args={"options": "-c synchronous_commit=on -c timezone=UTC", "connect_timeout": 10},
    )


def is_database_outage(exc: BaseException) -> bool:
    """The database cannot be reached or dropped the connection: nobody's fault
    but the database's, and worth retrying. SQLAlchemy wraps psycopg's errors;
    raw psycopg users (the Postgres bus) raise them directly."""
    if isinstance(exc, (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def database_outage_reason(exc: BaseException) -> str:
    """One short line for a log: the driver's own first line, never SQLAlchemy's
    str(), which carries the statement and (unless hidden) its parameters."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first[:200]}"


def log_failure(log, message: str, exc: BaseException, *args) -> None:
    """Log a background task's failure: one line without SQL for a database outage
    (it is expected, and SQLAlchemy's traceback would print the statement), the
    traceback for anything else (a bug worth reading)."""
    if is_database_outage(exc):
        log.error(message + ": database unavailable (%s)", *args, database_outage_reason(exc))
    else:
        log.error(message, *args, exc_info=exc)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))
