"""OwnTracks over MQTT: broker password hashes on devices, and a change notification

``devices.mqtt_password_hash`` holds the device secret as a salted PBKDF2
hash in Mosquitto's password-file format; the broker files are generated
from it (the secret itself is never stored). Devices registered before this
revision get one when their secret is next rotated.

A statement-level trigger sends ``NOTIFY zhijiao_devices`` (delivered at
commit) whenever a device is added, removed, enabled, disabled, re-keyed or
renamed for OwnTracks, or a supervision changes status, so the MQTT worker
regenerates the broker's files at once instead of waiting for its next
periodic round. ``last_seen_at`` is not in the column list: ingest touches it
on every fix, and that must not wake the broker.

Revision ID: 0017
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None

DEVICE_COLUMNS = "active, credential_hash, mqtt_password_hash, owntracks_user, owntracks_device, protocol, supervisee_id"


def upgrade() -> None:
    op.add_column('devices', sa.Column('mqtt_password_hash', sa.Text(), nullable=True))
    op.execute("""
        CREATE FUNCTION zhijiao_notify_devices() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('zhijiao_devices', '');
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER devices_changed_insert_delete AFTER INSERT OR DELETE ON devices"
               " FOR EACH STATEMENT EXECUTE FUNCTION zhijiao_notify_devices()")
    op.execute(f"CREATE TRIGGER devices_changed_update AFTER UPDATE OF {DEVICE_COLUMNS} ON devices"
               " FOR EACH STATEMENT EXECUTE FUNCTION zhijiao_notify_devices()")
    op.execute("CREATE TRIGGER supervisees_status_changed AFTER UPDATE OF status ON supervisees"
               " FOR EACH STATEMENT EXECUTE FUNCTION zhijiao_notify_devices()")


def downgrade() -> None:
    op.execute("DROP TRIGGER supervisees_status_changed ON supervisees")
    op.execute("DROP TRIGGER devices_changed_update ON devices")
    op.execute("DROP TRIGGER devices_changed_insert_delete ON devices")
    op.execute("DROP FUNCTION zhijiao_notify_devices()")
    op.drop_column('devices', 'mqtt_password_hash')
