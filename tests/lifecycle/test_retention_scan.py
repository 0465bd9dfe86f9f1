"""Every table with a supervisee reference is declared by exactly one package's RETENTION."""
from __future__ import annotations

from sqlalchemy import text

from api.app import RETENTIONS
from core.retention import declared_tables
from tests.lifecycle.schema_scan import scan


def test_every_table_that_refers_to_a_supervisee_is_declared_by_exactly_one_retention(db):
    schema = scan(db)
    owner = declared_tables(RETENTIONS)  # raises on a table declared twice
    # The scan really follows paths: tables reached only through another table.
    assert {"fixes", "checkin_ledger", "activation_codes", "alert_evidence", "fence_versions"} <= schema.tables
    assert sorted(schema.tables - set(owner)) == [], "tables nobody declares: add them to a package's RETENTION"
    assert sorted(set(owner) - schema.tables) == [], "declared tables that do not refer to a supervisee (or exist)"
    for retention in RETENTIONS:
        if retention.operational or retention.scrubbed:
            assert retention.purge is not None, f"{retention.package} declares operational data but no purge"


def test_a_new_table_that_refers_to_a_supervisee_cannot_escape(db):
    db.execute(text("CREATE TABLE zz_new_notes (id bigserial PRIMARY KEY, supervisee_id bigint)"))
    db.execute(text("CREATE TABLE zz_new_detail (id bigserial PRIMARY KEY, note_id bigint REFERENCES zz_new_notes(id))"))
    db.execute(text("CREATE TABLE zz_device_log (id bigserial PRIMARY KEY, device_id bigint REFERENCES devices(id))"))
    undeclared = scan(db).tables - set(declared_tables(RETENTIONS))
    assert undeclared == {"zz_new_notes", "zz_new_detail", "zz_device_log"}
