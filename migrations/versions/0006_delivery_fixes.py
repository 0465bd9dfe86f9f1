"""alert delivery fixes: find stamped-but-unpublished outbox events

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The relay now sets published_at only after the bus accepted an event, and
    # every round first re-publishes rows stamped (seq) but not published: a
    # leader may have died between its commit and the publish. This partial
    # index keeps that check cheap however large the outbox grows (it is empty
    # in steady state). Rows written before 0006 got both columns at once.
    op.create_index('alert_events_unsent', 'alert_events', ['seq'], unique=False,
                    postgresql_where=sa.text('seq IS NOT NULL AND published_at IS NULL'))


def downgrade() -> None:
    op.drop_index('alert_events_unsent', table_name='alert_events',
                  postgresql_where=sa.text('seq IS NOT NULL AND published_at IS NULL'))
