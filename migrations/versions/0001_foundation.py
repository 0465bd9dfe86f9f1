"""foundation: jurisdictions, users, supervisees, devices, audit

Revision ID: 0001
Revises:
Create Date: 2026-11-25 16:55:58.423317
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('audit_log',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('actor_role', sa.String(length=16), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=True),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('source_addr', sa.String(length=64), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index('audit_log_at', 'audit_log', ['at'], unique=False, postgresql_using='brin')
    op.create_index('audit_log_object', 'audit_log', ['object_type', 'object_id'], unique=False)
    op.create_table('admin_areas',
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry'), nullable=False),
    sa.Column('source_datum', sa.String(length=8), nullable=False),
    sa.Column('source', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('jurisdictions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=True),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('boundary', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("level IN ('bureau', 'office', 'grid')", name='level_valid'),
    sa.ForeignKeyConstraint(['parent_id'], ['jurisdictions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    # (the GiST index on boundary is created with the table by GeoAlchemy2)
    op.create_index(op.f('ix_jurisdictions_parent_id'), 'jurisdictions', ['parent_id'], unique=False)
    op.create_index(op.f('ix_jurisdictions_path'), 'jurisdictions', ['path'], unique=False)
    op.create_table('supervisees',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('id_last4', sa.String(length=4), nullable=False),
    sa.Column('sentence_type', sa.String(length=32), nullable=False),
    sa.Column('term_start', sa.Date(), nullable=False),
    sa.Column('term_end', sa.Date(), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('officer_id', sa.BigInteger(), nullable=True),
    sa.Column('residence', geoalchemy2.types.Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('residence_address', sa.String(length=300), nullable=True),
    sa.Column('permitted_area_codes', postgresql.ARRAY(sa.String(length=12)), server_default='{}', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("id_last4 ~ '^[0-9Xx]{4}$'", name='id_last4_format'),
    sa.CheckConstraint("sentence_type IN ('control', 'probation', 'parole', 'temporary_release')", name='sentence_type_valid'),
    sa.CheckConstraint("status IN ('active', 'suspended', 'ended')", name='status_valid'),
    sa.CheckConstraint("tier IN ('strict', 'ordinary', 'lenient')", name='tier_valid'),
    sa.CheckConstraint('term_end >= term_start', name='term_order'),
    sa.ForeignKeyConstraint(['office_id'], ['jurisdictions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('id_hash')
    )
    op.create_index(op.f('ix_supervisees_office_id'), 'supervisees', ['office_id'], unique=False)
    op.create_index(op.f('ix_supervisees_officer_id'), 'supervisees', ['officer_id'], unique=False)
    op.create_table('devices',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('protocol', sa.String(length=16), nullable=False),
    sa.Column('credential_hash', sa.String(length=64), nullable=False),
    sa.Column('owntracks_user', sa.String(length=64), nullable=True),
    sa.Column('owntracks_device', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('phone', 'tracker')", name='kind_valid'),
    sa.CheckConstraint("protocol IN ('native', 'osmand', 'owntracks')", name='protocol_valid'),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credential_hash')
    )
    op.create_index('devices_owntracks_login', 'devices', ['owntracks_user', 'owntracks_device'], unique=True)
    op.create_index(op.f('ix_devices_supervisee_id'), 'devices', ['supervisee_id'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('jurisdiction_id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(role = 'supervisee') = (supervisee_id IS NOT NULL)", name='supervisee_link'),
    sa.CheckConstraint("role IN ('officer', 'manager', 'auditor', 'admin', 'supervisee')", name='role_valid'),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], ),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('supervisee_id'),
    sa.UniqueConstraint('username')
    )
    op.create_index(op.f('ix_users_jurisdiction_id'), 'users', ['jurisdiction_id'], unique=False)
    # supervisees and users reference each other: add this edge last.
    op.create_foreign_key('supervisees_officer_id_fkey', 'supervisees', 'users', ['officer_id'], ['id'])
    # The audit trail is append-only at the database level too (defence in
    # depth: the hash chain detects what a superuser could still do).
    op.execute("""
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log; DROP TRIGGER audit_log_no_update ON audit_log;"
               " DROP FUNCTION audit_log_append_only()")
    op.drop_constraint('supervisees_officer_id_fkey', 'supervisees', type_='foreignkey')
    op.drop_index(op.f('ix_users_jurisdiction_id'), table_name='users')
    op.drop_table('users')
    op.drop_index(op.f('ix_devices_supervisee_id'), table_name='devices')
    op.drop_index('devices_owntracks_login', table_name='devices')
    op.drop_table('devices')
    op.drop_index(op.f('ix_supervisees_officer_id'), table_name='supervisees')
    op.drop_index(op.f('ix_supervisees_office_id'), table_name='supervisees')
    op.drop_table('supervisees')
    op.drop_index(op.f('ix_jurisdictions_path'), table_name='jurisdictions')
    op.drop_index(op.f('ix_jurisdictions_parent_id'), table_name='jurisdictions')
    op.drop_table('jurisdictions')
    op.drop_table('admin_areas')
    op.drop_index('audit_log_object', table_name='audit_log')
    op.drop_index('audit_log_at', table_name='audit_log', postgresql_using='brin')
    op.drop_table('audit_log')
