"""Electronic-positioning orders (Law art. 29), their windows, and the purpose of every fix

- ``positioning_orders`` and ``positioning_order_extensions``: the legal file
  of each order (ground, facts, proposer, approving bureau head, period,
  reassessed extensions, early end).
- ``positioning_windows`` (geo-owned): the lawful period of each approved
  order, which ingest reads to decide a fix's legal basis at its own time.
- ``fixes.purpose`` NOT NULL, no default: ``order:<id>`` or 信息化核查. Fixes
  stored before this revision had no order behind them, so they are marked
  信息化核查, the ordinary check.
- ``users.bureau_head``: the only approver of an order.
- ``devices.positioning_grade`` and the device kind ``wristband``.

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

GROUNDS = "'prohibition_order', 'left_area_unapproved', 'refused_reporting_warned', 'police_penalty', 'revocation_pending'"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column('users', sa.Column('bureau_head', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('devices', sa.Column('positioning_grade', sa.Boolean(), server_default='false', nullable=False))
    op.drop_constraint('kind_valid', 'devices', type_='check')
    op.create_check_constraint('kind_valid', 'devices', "kind IN ('phone', 'tracker', 'wristband')")
    op.add_column('fixes', sa.Column('purpose', sa.String(length=40), nullable=True))
    op.execute("UPDATE fixes SET purpose = '信息化核查'")
    op.alter_column('fixes', 'purpose', nullable=False)

    op.create_table(
        'positioning_orders',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
        sa.Column('office_id', sa.BigInteger(), nullable=False),
        sa.Column('ground', sa.String(length=32), nullable=False),
        sa.Column('facts', sa.Text(), nullable=False),
        sa.Column('proposed_by', sa.BigInteger(), nullable=False),
        sa.Column('proposed_at', TS, nullable=False),
        sa.Column('starts_at', TS, nullable=False),
        sa.Column('ends_at', TS, nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('approved_by', sa.BigInteger(), nullable=True),
        sa.Column('approved_at', TS, nullable=True),
        sa.Column('ended_at', TS, nullable=True),
        sa.Column('ended_by', sa.BigInteger(), nullable=True),
        sa.Column('end_reason', sa.Text(), nullable=True),
        sa.Column('reminded_7d_at', TS, nullable=True),
        sa.Column('reminded_1d_at', TS, nullable=True),
        sa.Column('created_at', TS, server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint(f"ground IN ({GROUNDS})", name='ground_valid'),
        sa.CheckConstraint("status IN ('proposed', 'approved', 'terminated', 'lapsed')", name='order_status_valid'),
        sa.CheckConstraint('ends_at > starts_at', name='order_window'),
        sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id']),
        sa.ForeignKeyConstraint(['office_id'], ['jurisdictions.id']),
        sa.ForeignKeyConstraint(['proposed_by'], ['users.id']),
        sa.ForeignKeyConstraint(['approved_by'], ['users.id']),
        sa.ForeignKeyConstraint(['ended_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('positioning_orders_due', 'positioning_orders', ['status', 'ends_at'])
    op.create_index(op.f('ix_positioning_orders_supervisee_id'), 'positioning_orders', ['supervisee_id'])

    op.create_table(
        'positioning_order_extensions',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('order_id', sa.BigInteger(), nullable=False),
        sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
        sa.Column('reassessment', sa.Text(), nullable=False),
        sa.Column('previous_ends_at', TS, nullable=False),
        sa.Column('ends_at', TS, nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('proposed_by', sa.BigInteger(), nullable=False),
        sa.Column('proposed_at', TS, nullable=False),
        sa.Column('approved_by', sa.BigInteger(), nullable=True),
        sa.Column('approved_at', TS, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved')", name='extension_status_valid'),
        sa.CheckConstraint('ends_at > previous_ends_at', name='extension_later'),
        sa.ForeignKeyConstraint(['order_id'], ['positioning_orders.id']),
        sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id']),
        sa.ForeignKeyConstraint(['proposed_by'], ['users.id']),
        sa.ForeignKeyConstraint(['approved_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('positioning_extension_pending', 'positioning_order_extensions', ['order_id'], unique=True,
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index(op.f('ix_positioning_order_extensions_order_id'), 'positioning_order_extensions', ['order_id'])
    op.create_index(op.f('ix_positioning_order_extensions_supervisee_id'), 'positioning_order_extensions',
                    ['supervisee_id'])

    op.create_table(
        'positioning_windows',
        sa.Column('order_id', sa.BigInteger(), nullable=False),
        sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
        sa.Column('starts_at', TS, nullable=False),
        sa.Column('ends_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id']),
        sa.PrimaryKeyConstraint('order_id'),
    )
    op.create_index(op.f('ix_positioning_windows_supervisee_id'), 'positioning_windows', ['supervisee_id'])


def downgrade() -> None:
    op.drop_table('positioning_windows')
    op.drop_table('positioning_order_extensions')
    op.drop_table('positioning_orders')
    op.drop_column('fixes', 'purpose')
    op.execute("UPDATE devices SET kind = 'tracker' WHERE kind = 'wristband'")
    op.drop_constraint('kind_valid', 'devices', type_='check')
    op.create_check_constraint('kind_valid', 'devices', "kind IN ('phone', 'tracker')")
    op.drop_column('devices', 'positioning_grade')
    op.drop_column('users', 'bureau_head')
