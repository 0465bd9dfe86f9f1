"""JT/T 808 devices: protocol 'jt808', the terminal phone number and id, registration time

Revision ID: 0015
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint('protocol_valid', 'devices', type_='check')
    op.create_check_constraint('protocol_valid', 'devices', "protocol IN ('native', 'osmand', 'owntracks', 'jt808')")
    op.add_column('devices', sa.Column('jt808_phone', sa.String(length=20), nullable=True))
    op.add_column('devices', sa.Column('jt808_registered_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('devices', sa.Column('jt808_terminal_id', sa.String(length=30), nullable=True))
    op.create_check_constraint('jt808_terminal_id_required', 'devices',
                               "protocol <> 'jt808' OR jt808_terminal_id IS NOT NULL")
    op.create_index('devices_jt808_phone', 'devices', ['jt808_phone'], unique=True)


def downgrade() -> None:
    op.drop_constraint('jt808_terminal_id_required', 'devices', type_='check')
    op.drop_column('devices', 'jt808_terminal_id')
    op.drop_index('devices_jt808_phone', table_name='devices')
    op.drop_column('devices', 'jt808_registered_at')
    op.drop_column('devices', 'jt808_phone')
    op.drop_constraint('protocol_valid', 'devices', type_='check')
    op.create_check_constraint('protocol_valid', 'devices', "protocol IN ('native', 'osmand', 'owntracks')")
