"""camera health: probe records per camera, office outages

Revision ID: 0022
Revises: 0021 (camera_health references cameras; the lead chains the rest linearly)
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('camera_health',
    sa.Column('camera_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='unknown', nullable=False),
    sa.Column('state_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_probe_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_probe_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_ok_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('last_error', sa.String(length=32), nullable=True),
    sa.CheckConstraint("state IN ('unknown', 'online', 'degraded', 'offline')", name='state_valid'),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('camera_id')
    )
    op.create_index('camera_health_due', 'camera_health', ['next_probe_at'], unique=False)
    op.create_table('camera_outages',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('offline', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['jurisdictions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('camera_outages_open', 'camera_outages', ['office_id'], unique=True,
                    postgresql_where=sa.text('cleared_at IS NULL'))


def downgrade() -> None:
    op.drop_index('camera_outages_open', table_name='camera_outages')
    op.drop_table('camera_outages')
    op.drop_index('camera_health_due', table_name='camera_health')
    op.drop_table('camera_health')
