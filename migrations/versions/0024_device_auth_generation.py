"""device_auth_generation: what invalidates the ingest routes' device credential cache

One row, set from a sequence by triggers whenever a device is removed,
re-keyed, moved, enabled or disabled (or its protocol, kind,
OwnTracks names or positioning grade change), and whenever a supervision's
status, tier or office changes. ``last_seen_at`` is not watched: ingest touches
it. See geo.ingest.models.DeviceAuthGeneration.

Revision ID: 0024
Revises: 0023
"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

DEVICE_COLUMNS = ("active", "credential_hash", "owntracks_user", "owntracks_device", "protocol", "supervisee_id",
                  "kind", "positioning_grade")
SUPERVISEE_COLUMNS = ("status", "tier", "office_id")


def _changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)


def upgrade() -> None:
    op.create_table('device_auth_generation',
                    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column('gen', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.execute("CREATE SEQUENCE device_auth_generation_seq")
    op.execute("INSERT INTO device_auth_generation (id, gen) VALUES (1, nextval('device_auth_generation_seq'))")
    op.execute("""
        CREATE FUNCTION zhijiao_bump_device_auth() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE device_auth_generation SET gen = nextval('device_auth_generation_seq') WHERE id = 1;
            RETURN NULL;
        END $$""")
    # Row triggers that fire only when a watched value really changed: ingest's own
    # updates (last_seen_at) and no-op updates neither flush the caches nor take the
    # generation row's lock. A new device needs no trigger: misses are never cached.
    op.execute("CREATE TRIGGER devices_auth_delete AFTER DELETE ON devices"
               " FOR EACH STATEMENT EXECUTE FUNCTION zhijiao_bump_device_auth()")
    op.execute(f"CREATE TRIGGER devices_auth_update AFTER UPDATE ON devices FOR EACH ROW"
               f" WHEN ({_changed(DEVICE_COLUMNS)}) EXECUTE FUNCTION zhijiao_bump_device_auth()")
    op.execute("CREATE TRIGGER supervisees_auth_delete AFTER DELETE ON supervisees"
               " FOR EACH STATEMENT EXECUTE FUNCTION zhijiao_bump_device_auth()")
    op.execute(f"CREATE TRIGGER supervisees_auth_update AFTER UPDATE ON supervisees FOR EACH ROW"
               f" WHEN ({_changed(SUPERVISEE_COLUMNS)}) EXECUTE FUNCTION zhijiao_bump_device_auth()")


def downgrade() -> None:
    op.execute("DROP TRIGGER supervisees_auth_update ON supervisees")
    op.execute("DROP TRIGGER supervisees_auth_delete ON supervisees")
    op.execute("DROP TRIGGER devices_auth_update ON devices")
    op.execute("DROP TRIGGER devices_auth_delete ON devices")
    op.execute("DROP FUNCTION zhijiao_bump_device_auth()")
    op.execute("DROP SEQUENCE device_auth_generation_seq")
    op.drop_table('device_auth_generation')
