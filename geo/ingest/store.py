"""Database work of ingest: dedup lookups, id allocation, COPY of fixes."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import psycopg
from sqlalchemy.orm import Session

FIX_COLUMNS = (
    "id", "supervisee_id", "device_id", "dedup_key", "fingerprint", "t", "received_at", "lon", "lat", "accuracy_m",
    "speed_mps", "heading_deg", "altitude_m", "battery_pct", "datum", "protocol", "raw", "flags", "excluded",
    "decisions", "purpose",
)
_COPY = f"COPY fixes ({', '.join(FIX_COLUMNS)}) FROM STDIN"


def raw_connection(db: Session) -> psycopg.Connection:
    """The psycopg connection under the session, in the session's transaction."""
    return db.connection().connection.driver_connection  # type: ignore[return-value]


_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _cell(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return float.__repr__(value)  # plain digits even for numpy floats
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):  # jsonb
        return orjson.dumps(value).decode().translate(_ESCAPE)
    if isinstance(value, PgTextArray):
        return "{" + ",".join(value.items) + "}"
    return str(value).translate(_ESCAPE)


class PgTextArray:
    """A text[] of plain words (suspicion flags) for COPY."""

    def __init__(self, items: Sequence[str]) -> None:
        self.items = list(items)


def copy_fixes(db: Session, rows: Sequence[Sequence[Any]]) -> None:
    """One COPY for the whole batch. The text stream is built here rather than
    row by row through the adapter: at 1,000 fixes a batch this is the hot loop
    of ingest (JSON via orjson, escaping via one str.translate per cell)."""
    data = "".join(format_row(row) for row in rows)
    with raw_connection(db).cursor() as cur, cur.copy(_COPY) as copy:
        copy.write(data.encode())


def _num(v: float | None) -> str:
    return "\\N" if v is None else float.__repr__(float(v))


def format_row(r: Sequence[Any]) -> str:
    """A fixes row (FIX_COLUMNS order, types as the pipeline builds them) as one COPY line."""
    (fid, sid, dev, key, fp, t, received, lon, lat, acc, speed, heading, alt, batt, datum, protocol, raw, flags,
     excluded, decisions, purpose) = r
    return "\t".join((
        str(fid), str(sid), "\\N" if dev is None else str(dev), key.translate(_ESCAPE), fp, t.isoformat(),
        received.isoformat(), _num(lon), _num(lat), _num(acc), _num(speed), _num(heading), _num(alt), _num(batt),
        datum, protocol, orjson.dumps(raw).decode().translate(_ESCAPE), _cell(flags), "t" if excluded else "f",
        orjson.dumps(decisions).decode(), purpose,
    )) + "\n"


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


@dataclass
class Prefetched:
    """What a batch's steps read before deciding, fetched in one round trip."""

    known: dict[str, str]  # dedup key -> fingerprint of fixes already stored
    neighbours: list[tuple[datetime, float, float, float | None]]
    fence_gen: int
    ids: list[int]
    # (order_id, starts_at, ends_at) of positioning windows overlapping the
    # batch's time span; read only for devices that need an order.
    windows: list[tuple[int, datetime, datetime]]
    # False: another transaction holds the supervisee's ingest lock and the caller
    # asked not to wait (prefetch_many(wait=False)); nothing else here is to be used.
    locked: bool = True


@dataclass(frozen=True, slots=True)
class PrefetchRequest:
    """What one device's batch needs read: its dedup keys and its time span."""

    device_id: int | None  # None: an officer's GPX import (dedup per supervisee)
    supervisee_id: int
    keys: list[str]
    first: datetime
    last: datetime
    count: int  # fix ids to draw
    windows: bool = False  # positioning windows too (devices that need an order)


_NEIGHBOUR_COLS = "t, lat, lon, accuracy_m FROM fixes WHERE supervisee_id = u.s AND NOT excluded"
# Per batch k: the stored fix just before its span, those within it, the one just after.
_NEIGHBOURS = (
    "SELECT u.k, n.t, n.lat, n.lon, n.accuracy_m"
    " FROM unnest(%s::int[], %s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS u(k, s, a, b)"
    f" CROSS JOIN LATERAL ((SELECT {_NEIGHBOUR_COLS} AND t < u.a ORDER BY t DESC LIMIT 1) UNION ALL"
    f" (SELECT {_NEIGHBOUR_COLS} AND t >= u.a AND t <= u.b ORDER BY t LIMIT 5000) UNION ALL"
    f" (SELECT {_NEIGHBOUR_COLS} AND t > u.b ORDER BY t LIMIT 1)) AS n ORDER BY u.k, n.t")
_FINGERPRINTS = ("SELECT u.k, f.dedup_key, f.fingerprint FROM unnest(%s::int[], %s::bigint[], %s::text[]) AS u(k, d, key)"
                 " JOIN fixes f ON f.device_id = u.d AND f.dedup_key = u.key")
_IMPORTED_FINGERPRINTS = ("SELECT dedup_key, fingerprint FROM fixes WHERE device_id IS NULL AND supervisee_id = %s"
                          " AND dedup_key = ANY(%s)")
# The locks in key order (the supervisee id's, below 2e9): a subquery with ORDER BY is not
# flattened, so the volatile lock function runs row by row in the sort's order.
_LOCKS = ("SELECT count(pg_advisory_xact_lock(1, s)) FROM"
          " (SELECT DISTINCT CAST(x %% 2000000000 AS integer) AS s FROM unnest(%s::bigint[]) AS x ORDER BY s) AS q")
# Without waiting: the keys another transaction holds (try-locks never wait, so their
# order does not matter for deadlocks; they are still taken in key order).
_TRY_LOCKS = ("SELECT s FROM (SELECT DISTINCT CAST(x %% 2000000000 AS integer) AS s FROM unnest(%s::bigint[]) AS x"
              " ORDER BY s) AS q WHERE NOT pg_try_advisory_xact_lock(1, s)")
_WINDOWS = ("SELECT order_id, starts_at, ends_at FROM positioning_windows WHERE supervisee_id = %s"
            " AND starts_at <= %s AND ends_at > %s ORDER BY starts_at, order_id")


def prefetch_many(db: Session, requests: Sequence[PrefetchRequest], *, wait: bool = True) -> list[Prefetched]:
    """Take each supervisee's ingest lock, then read dedup fingerprints, time
    neighbours, positioning windows, the fence generation and fresh fix ids, for
    every batch at once — a handful of set-based statements, pipelined, so a group
    of phones' requests costs one round trip here, not one (nor five) each.

    The locks are taken first, in supervisee-id order (two groups in two
    processes never wait on each other in a cycle), so every read after them
    sees whatever the previous batch of each supervisee committed. The
    supervisees must be distinct: a second batch of one supervisee must read
    what the first wrote, so it comes in a later call (geo.ingest.pipeline's waves).

    With ``wait=False`` a lock another transaction holds is not waited for: that
    batch comes back with ``locked=False`` (a group commit then writes it on its
    own, so that one long transaction elsewhere does not hold up the whole group).
    """
    sids = [r.supervisee_id for r in requests]
    if len(set(sids)) != len(sids):
        raise ValueError("prefetch_many: one batch per supervisee")
    conn = raw_connection(db)
    devices = [(k, r) for k, r in enumerate(requests) if r.device_id is not None]
    pairs = [(k, r.device_id, key) for k, r in devices for key in r.keys]
    with conn.pipeline():
        busy = conn.execute(_TRY_LOCKS, (sids,)) if not wait else None
        if wait:
            conn.execute(_LOCKS, (sids,))
        fps = conn.execute(_FINGERPRINTS, ([p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs]))
        imported = {k: conn.execute(_IMPORTED_FINGERPRINTS, (r.supervisee_id, list(r.keys)))
                    for k, r in enumerate(requests) if r.device_id is None}
        neighbours = conn.execute(_NEIGHBOURS, (list(range(len(requests))), sids, [r.first for r in requests],
                                                [r.last for r in requests]))
        wins = {k: conn.execute(_WINDOWS, (r.supervisee_id, r.last, r.first))
                for k, r in enumerate(requests) if r.windows}
        gen = conn.execute("SELECT coalesce(max(gen), 0) FROM fence_versions")
        ids = conn.execute("SELECT nextval('fixes_id_seq') FROM generate_series(1, %s)",
                           (sum(r.count for r in requests),))
    known: list[dict[str, str]] = [{} for _ in requests]
    for k, key, fingerprint in fps.fetchall():
        known[k][key] = fingerprint
    for k, cur in imported.items():
        known[k] = dict(cur.fetchall())
    near: list[list[tuple]] = [[] for _ in requests]
    for k, *row in neighbours.fetchall():
        near[k].append(tuple(row))
    fence_gen = gen.fetchone()[0]
    held_elsewhere = {row[0] for row in busy.fetchall()} if busy is not None else set()
    all_ids = [row[0] for row in ids.fetchall()]
    out, at = [], 0
    for k, r in enumerate(requests):
        out.append(Prefetched(known[k], near[k], fence_gen, all_ids[at:at + r.count],
                              [tuple(row) for row in wins[k].fetchall()] if k in wins else [],
                              locked=r.supervisee_id % 2_000_000_000 not in held_elsewhere))
        at += r.count
    return out
