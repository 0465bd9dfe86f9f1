"""Database work of ingest: dedup lookups, id allocation, COPY of fixes."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import text
from sqlalchemy.orm import Session

FIX_COLUMNS = (
    "id", "supervisee_id", "device_id", "dedup_key", "fingerprint", "t", "received_at", "lon", "lat", "accuracy_m",
    "speed_mps", "heading_deg", "altitude_m", "battery_pct", "datum", "protocol", "raw", "flags", "excluded",
    "decisions",
)
_COPY = f"COPY fixes ({', '.join(FIX_COLUMNS)}) FROM STDIN"


def raw_connection(db: Session) -> psycopg.Connection:
    """The psycopg connection under the session, in the session's transaction."""
    return db.connection().connection.driver_connection  # type: ignore[return-value]


def lock_source(db: Session, device_id: int | None, supervisee_id: int) -> None:
    """Serialise batches of one device (or one supervisee's imports): per-device
    ordering, and no race between the dedup lookup and the insert."""
    space, key = (1, device_id) if device_id is not None else (2, supervisee_id)
    db.execute(text("SELECT pg_advisory_xact_lock(:s, CAST(:k AS integer))"), {"s": space, "k": key % 2_000_000_000})


def existing_fingerprints(db: Session, device_id: int | None, supervisee_id: int, keys: Sequence[str]) -> dict[str, str]:
    """Fingerprints of already stored fixes with these keys (GPX imports have no device)."""
    if not keys:
        return {}
    if device_id is not None:
        sql, arg = "SELECT dedup_key, fingerprint FROM fixes WHERE device_id = %s AND dedup_key = ANY(%s)", device_id
    else:
        sql = "SELECT dedup_key, fingerprint FROM fixes WHERE device_id IS NULL AND supervisee_id = %s AND dedup_key = ANY(%s)"
        arg = supervisee_id
    return dict(raw_connection(db).execute(sql, (arg, list(keys))).fetchall())


def allocate_ids(db: Session, n: int) -> list[int]:
    if n == 0:
        return []
    cur = raw_connection(db).execute("SELECT nextval('fixes_id_seq') FROM generate_series(1, %s)", (n,))
    return [r[0] for r in cur.fetchall()]


def copy_fixes(db: Session, rows: Sequence[Sequence[Any]]) -> None:
    """One COPY for the whole batch (raw and decisions as jsonb)."""
    with raw_connection(db).cursor() as cur, cur.copy(_COPY) as copy:
        for row in rows:
            copy.write_row(row)


def jsonb(value: Any) -> Jsonb:
    return Jsonb(value)


def observations_since(db: Session, supervisee_id: int, since: datetime | None) -> list[tuple[int, float, list]]:
    """(fix id, epoch t, decisions) of judged, non-excluded fixes at or after ``since``."""
    sql = ("SELECT id, extract(epoch FROM t)::float8, decisions FROM fixes"
           " WHERE supervisee_id = %s AND NOT excluded AND decisions <> '[]'::jsonb")
    params: list[Any] = [supervisee_id]
    if since is not None:
        sql += " AND t >= %s"
        params.append(since)
    return raw_connection(db).execute(sql, params).fetchall()


def fix_details(db: Session, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    cur = raw_connection(db).execute(
        "SELECT id, t, lon, lat, accuracy_m, datum, raw FROM fixes WHERE id = ANY(%s)", (list(ids),))
    return {r[0]: {"t": r[1], "lon": r[2], "lat": r[3], "accuracy_m": r[4], "datum": r[5], "raw": r[6]} for r in cur}
