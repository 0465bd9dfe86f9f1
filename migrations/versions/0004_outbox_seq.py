"""alert delivery: the outbox sequence and one-time websocket tickets

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Stamped onto alert_events.seq by the single relay leader, in publish order
    # (see alerts/relay.py). A sequence, not max(seq)+1: a failed batch may leave a
    # gap, which clients tolerate; what they rely on is "increasing, never reused".
    op.execute("CREATE SEQUENCE alert_event_seq AS bigint")
    # Single-use tickets for the alert websocket; only the SHA-256 of the ticket is
    # stored, so a database read does not yield a usable ticket.
    op.create_table('ws_tickets',
    sa.Column('ticket_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('ticket_hash')
    )
    op.create_index('ws_tickets_expires', 'ws_tickets', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ws_tickets_expires', table_name='ws_tickets')
    op.drop_table('ws_tickets')
    op.execute("DROP SEQUENCE alert_event_seq")
