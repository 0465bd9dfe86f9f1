"""fences, fixes, episodes, alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 17:01:29.467024
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=True),
    sa.Column('alert_id', sa.BigInteger(), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=24), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('alert_events_seq', 'alert_events', ['seq'], unique=True)
    op.create_index('alert_events_unpublished', 'alert_events', ['id'], unique=False, postgresql_where=sa.text('seq IS NULL'))
    op.create_index(op.f('ix_alert_events_alert_id'), 'alert_events', ['alert_id'], unique=False)
    op.create_table('fences',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('sensitive', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('source', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('permitted', 'exclusion', 'curfew', 'leave_destination')", name='kind_valid'),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_fences_supervisee_id'), 'fences', ['supervisee_id'], unique=False)
    op.create_table('supervisee_signal',
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('last_fix_t', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_fix_lon', sa.Float(), nullable=True),
    sa.Column('last_fix_lat', sa.Float(), nullable=True),
    sa.Column('last_received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('battery_pct', sa.Float(), nullable=True),
    sa.Column('fixes_total', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('silence_alerted', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('version', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('supervisee_id')
    )
    op.create_table('alerts',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('cause', sa.String(length=120), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('fence_id', sa.BigInteger(), nullable=True),
    sa.Column('fence_version', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_evidence_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evidence_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assigned_to', sa.BigInteger(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.BigInteger(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.BigInteger(), nullable=True),
    sa.Column('resolution', sa.String(length=32), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.Column('escalation_level', sa.Integer(), server_default='0', nullable=False),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopen_count', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint("state IN ('open', 'acknowledged', 'resolved')", name='state_valid'),
    sa.ForeignKeyConstraint(['assigned_to'], ['users.id'], ),
    sa.ForeignKeyConstraint(['office_id'], ['jurisdictions.id'], ),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('alerts_office_state', 'alerts', ['office_id', 'state'], unique=False)
    op.create_index('alerts_one_unresolved', 'alerts', ['supervisee_id', 'cause'], unique=True, postgresql_where=sa.text("state <> 'resolved'"))
    op.create_index('alerts_opened_brin', 'alerts', ['created_at'], unique=False, postgresql_using='brin')
    op.create_index(op.f('ix_alerts_supervisee_id'), 'alerts', ['supervisee_id'], unique=False)
    op.create_table('fence_tracks',
    sa.Column('fence_id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('checkpoints', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['fence_id'], ['fences.id'], ),
    sa.PrimaryKeyConstraint('fence_id')
    )
    op.create_index(op.f('ix_fence_tracks_supervisee_id'), 'fence_tracks', ['supervisee_id'], unique=False)
    op.create_table('fence_versions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('fence_id', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('radius_m', sa.Float(), nullable=True),
    sa.Column('datum', sa.String(length=8), nullable=False),
    sa.Column('raw', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('curfew', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('min_fixes', sa.Integer(), server_default='2', nullable=False),
    sa.Column('min_seconds', sa.Float(), server_default='60', nullable=False),
    sa.Column('gen', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('radius_m IS NULL OR radius_m > 0', name='radius_positive'),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name='window_order'),
    sa.ForeignKeyConstraint(['fence_id'], ['fences.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('fence_id', 'version')
    )
    op.create_index(op.f('ix_fence_versions_fence_id'), 'fence_versions', ['fence_id'], unique=False)
    op.create_index(op.f('ix_fence_versions_gen'), 'fence_versions', ['gen'], unique=False)
    op.create_table('fixes',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('device_id', sa.BigInteger(), nullable=True),
    sa.Column('dedup_key', sa.String(length=120), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('t', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('speed_mps', sa.Float(), nullable=True),
    sa.Column('heading_deg', sa.Float(), nullable=True),
    sa.Column('altitude_m', sa.Float(), nullable=True),
    sa.Column('battery_pct', sa.Float(), nullable=True),
    sa.Column('datum', sa.String(length=8), nullable=False),
    sa.Column('protocol', sa.String(length=16), nullable=False),
    sa.Column('raw', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('flags', postgresql.ARRAY(sa.String(length=16)), server_default='{}', nullable=False),
    sa.Column('excluded', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('decisions', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('fixes_dedup', 'fixes', ['device_id', 'dedup_key'], unique=True)
    op.create_index('fixes_dedup_imported', 'fixes', ['supervisee_id', 'dedup_key'], unique=True, postgresql_where=sa.text('device_id IS NULL'))
    op.create_index('fixes_supervisee_time', 'fixes', ['supervisee_id', 't'], unique=False)
    op.create_index('fixes_time_brin', 'fixes', ['t'], unique=False, postgresql_using='brin')
    op.create_table('violation_episodes',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('fence_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evidence_fix_ids', postgresql.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('closing_fix_ids', postgresql.ARRAY(sa.BigInteger()), server_default='{}', nullable=False),
    sa.Column('alert_id', sa.BigInteger(), nullable=True),
    sa.Column('withdrawn', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['fence_id'], ['fences.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('episodes_track', 'violation_episodes', ['fence_id', 'opened_at'], unique=False)
    op.create_index(op.f('ix_violation_episodes_alert_id'), 'violation_episodes', ['alert_id'], unique=False)
    op.create_index(op.f('ix_violation_episodes_supervisee_id'), 'violation_episodes', ['supervisee_id'], unique=False)
    op.create_table('alert_evidence',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('alert_id', sa.BigInteger(), nullable=False),
    sa.Column('fix_id', sa.BigInteger(), nullable=True),
    sa.Column('t', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('datum', sa.String(length=8), nullable=True),
    sa.Column('raw', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_alert_evidence_alert_id'), 'alert_evidence', ['alert_id'], unique=False)
    op.create_table('alert_notes',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('alert_id', sa.BigInteger(), nullable=False),
    sa.Column('author_id', sa.BigInteger(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_alert_notes_alert_id'), 'alert_notes', ['alert_id'], unique=False)


    op.execute(TRIGGERS)


TRIGGERS = """
CREATE SEQUENCE fence_gen_seq;
-- Writers of fence versions serialise on one advisory lock (held to commit),
-- so generation stamps are handed out in commit order and a reader that saw
-- generation G has seen every version stamped G or lower.
CREATE FUNCTION fence_versions_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7362331);
  NEW.gen := nextval('fence_gen_seq');
  RETURN NEW;
END $$;
CREATE TRIGGER fence_versions_stamp BEFORE INSERT OR UPDATE ON fence_versions
  FOR EACH ROW EXECUTE FUNCTION fence_versions_stamp();
-- Wake the outbox relays (any process) when alert events commit.
CREATE FUNCTION alert_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('zhijiao_outbox', '');
  RETURN NULL;
END $$;
CREATE TRIGGER alert_events_notify AFTER INSERT ON alert_events
  FOR EACH STATEMENT EXECUTE FUNCTION alert_events_notify();
"""


def downgrade() -> None:
    op.execute("DROP TRIGGER alert_events_notify ON alert_events; DROP FUNCTION alert_events_notify();"
               " DROP TRIGGER fence_versions_stamp ON fence_versions; DROP FUNCTION fence_versions_stamp();"
               " DROP SEQUENCE fence_gen_seq")
    op.drop_index(op.f('ix_alert_notes_alert_id'), table_name='alert_notes')
    op.drop_table('alert_notes')
    op.drop_index(op.f('ix_alert_evidence_alert_id'), table_name='alert_evidence')
    op.drop_table('alert_evidence')
    op.drop_index(op.f('ix_violation_episodes_supervisee_id'), table_name='violation_episodes')
    op.drop_index(op.f('ix_violation_episodes_alert_id'), table_name='violation_episodes')
    op.drop_index('episodes_track', table_name='violation_episodes')
    op.drop_table('violation_episodes')
    op.drop_index('fixes_time_brin', table_name='fixes', postgresql_using='brin')
    op.drop_index('fixes_supervisee_time', table_name='fixes')
    op.drop_index('fixes_dedup_imported', table_name='fixes', postgresql_where=sa.text('device_id IS NULL'))
    op.drop_index('fixes_dedup', table_name='fixes')
    op.drop_table('fixes')
    op.drop_index(op.f('ix_fence_versions_gen'), table_name='fence_versions')
    op.drop_index(op.f('ix_fence_versions_fence_id'), table_name='fence_versions')
    op.drop_table('fence_versions')
    op.drop_index(op.f('ix_fence_tracks_supervisee_id'), table_name='fence_tracks')
    op.drop_table('fence_tracks')
    op.drop_index(op.f('ix_alerts_supervisee_id'), table_name='alerts')
    op.drop_index('alerts_opened_brin', table_name='alerts', postgresql_using='brin')
    op.drop_index('alerts_one_unresolved', table_name='alerts', postgresql_where=sa.text("state <> 'resolved'"))
    op.drop_index('alerts_office_state', table_name='alerts')
    op.drop_table('alerts')
    op.drop_table('supervisee_signal')
    op.drop_index(op.f('ix_fences_supervisee_id'), table_name='fences')
    op.drop_table('fences')
    op.drop_index(op.f('ix_alert_events_alert_id'), table_name='alert_events')
    op.drop_index('alert_events_unpublished', table_name='alert_events', postgresql_where=sa.text('seq IS NULL'))
    op.drop_index('alert_events_seq', table_name='alert_events')
    op.drop_table('alert_events')
