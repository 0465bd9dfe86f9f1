"""cameras: the registry, sealed credentials, and snapshot requests/frames

Revision ID: 0021
Revises: 0020
"""
import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cameras',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('geog', geoalchemy2.types.Geography(geometry_type='POINT', srid=4326, spatial_index=False,
                                                   from_text='ST_GeogFromText', name='geography'), nullable=False),
    sa.Column('source_datum', sa.String(length=8), nullable=False),
    sa.Column('heading', sa.Float(), nullable=False),
    sa.Column('fov', sa.Float(), nullable=False),
    sa.Column('range_m', sa.Float(), nullable=False),
    sa.Column('height_m', sa.Float(), nullable=True),
    sa.Column('stream_url', sa.Text(), nullable=False),
    sa.Column('jurisdiction_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('heading >= 0 AND heading < 360', name='heading_valid'),
    sa.CheckConstraint('fov > 0 AND fov <= 360', name='fov_valid'),
    sa.CheckConstraint('range_m > 0 AND range_m <= 1000', name='range_valid'),
    sa.CheckConstraint("status IN ('active', 'disabled')", name='status_valid'),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('cameras_geog', 'cameras', ['geog'], unique=False, postgresql_using='gist')
    op.create_index('cameras_jurisdiction', 'cameras', ['jurisdiction_id'], unique=False)
    op.create_table('camera_credentials',
    sa.Column('camera_id', sa.BigInteger(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('camera_id')
    )
    op.create_table('camera_snapshots',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('camera_id', sa.BigInteger(), nullable=False),
    sa.Column('alert_id', sa.BigInteger(), nullable=True),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=True),
    sa.Column('requested_by', sa.BigInteger(), nullable=True),
    sa.Column('around_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('state', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('error', sa.String(length=32), nullable=True),
    sa.Column('media_ids', postgresql.ARRAY(sa.BigInteger()), server_default='{}', nullable=False),
    sa.Column('elapsed_ms', sa.Float(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name='state_valid'),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], ),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('camera_snapshots_pending', 'camera_snapshots', ['requested_at'], unique=False,
                    postgresql_where=sa.text("state = 'pending'"))
    op.create_index('camera_snapshots_alert', 'camera_snapshots', ['alert_id'], unique=False)
    op.create_index('camera_snapshots_supervisee', 'camera_snapshots', ['supervisee_id'], unique=False)
    op.create_index('camera_snapshots_camera', 'camera_snapshots', ['camera_id'], unique=False)


def downgrade() -> None:
    op.drop_table('camera_snapshots')
    op.drop_table('camera_credentials')
    op.drop_index('cameras_jurisdiction', table_name='cameras')
    op.drop_index('cameras_geog', table_name='cameras')
    op.drop_table('cameras')
