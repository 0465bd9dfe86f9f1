"""Every table that refers to a supervisee, found from the schema (not a hand list), and the
rows of one person in each: what the purge tests check against the packages' RETENTIONs.

A table refers to a supervisee if it has a ``supervisee_id`` column (some
hot tables keep it without a foreign key) or a foreign key to a table that
does, transitively (fixes → devices → supervisees, checkin_ledger →
checkin_occurrences → supervisees, activation_codes → users → supervisees).
A person's rows in a table are those reachable from their supervisee row
along any of those paths. ``audit_log`` is the trail itself, neither kept nor
purged by anyone's retention.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

NOT_DATA = {"audit_log"}


@dataclass(frozen=True)
class ForeignKey:
    child: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]


@dataclass
class Schema:
    tables: set[str]  # every table that refers to a supervisee (supervisees included)
    keys: dict[str, list[ForeignKey]]  # child -> its foreign keys
    with_column: set[str]  # tables with a supervisee_id column

    def person_filter(self, table: str, path: tuple[str, ...] = ()) -> str:
        """SQL condition on ``table`` (unaliased) selecting the rows of person ``:sid``."""
        if table == "supervisees":
            return '"supervisees".id = :sid'
        parts = []
        if table in self.with_column:
            parts.append(f'"{table}".supervisee_id = :sid')
        for fk in self.keys.get(table, ()):
            if fk.parent not in self.tables or fk.parent in path or fk.parent == table:
                continue
            cols = ", ".join(f'"{table}"."{c}"' for c in fk.columns)
            pcols = ", ".join(f'"{fk.parent}"."{c}"' for c in fk.parent_columns)
            inner = self.person_filter(fk.parent, (*path, table))
            parts.append(f'({cols}) IN (SELECT {pcols} FROM "{fk.parent}" WHERE {inner})')
        return "(" + " OR ".join(parts) + ")" if parts else "false"


def scan(db: Session) -> Schema:
    rows = db.execute(text("""
        SELECT c.conrelid::regclass::text, c.confrelid::regclass::text,
               array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
               array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
        FROM pg_constraint c JOIN pg_namespace ns ON ns.oid = c.connamespace
        WHERE c.contype = 'f' AND ns.nspname = current_schema()""")).all()
    keys: dict[str, list[ForeignKey]] = defaultdict(list)
    for child, parent, cols, pcols in rows:
        keys[child].append(ForeignKey(child, tuple(cols), parent, tuple(pcols)))
    with_column = set(db.scalars(text(
        "SELECT c.table_name::text FROM information_schema.columns c JOIN information_schema.tables t"
        " USING (table_schema, table_name) WHERE c.table_schema = current_schema()"
        " AND t.table_type = 'BASE TABLE' AND c.column_name = 'supervisee_id'")))
    tables = {"supervisees", *with_column}
    grew = True
    while grew:
        grew = False
        for child, fks in keys.items():
            if child not in tables and any(fk.parent in tables for fk in fks):
                tables.add(child)
                grew = True
    return Schema(tables - NOT_DATA, dict(keys), with_column - NOT_DATA)


def count_rows(db: Session, schema: Schema, table: str, supervisee_id: int) -> int:
    return db.scalar(text(f'SELECT count(*) FROM "{table}" WHERE {schema.person_filter(table)}'),
                     {"sid": supervisee_id})


def uncleared(db: Session, schema: Schema, table: str, column: str, supervisee_id: int) -> int:
    """The person's rows of ``table`` whose ``column`` still holds something (not NULL, '', {} or [])."""
    return db.scalar(text(
        f'SELECT count(*) FROM "{table}" WHERE {schema.person_filter(table)} AND "{column}" IS NOT NULL'
        f""" AND "{column}"::text NOT IN ('', '{{}}', '[]')"""), {"sid": supervisee_id})
