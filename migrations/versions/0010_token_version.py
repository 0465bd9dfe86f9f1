"""token_version on users and the session a websocket ticket carries

A bearer token names the user's token_version; a password change (own or a
reset) increments it, so every token issued before stops working at once.
A websocket ticket records the version and the expiry of the bearer token it
was bought with: the socket is refused if the version moved in between, and
closes when that token would have expired.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('token_version', sa.Integer(), server_default='0', nullable=False))
    op.add_column('ws_tickets', sa.Column('token_version', sa.Integer(), nullable=True))
    op.add_column('ws_tickets', sa.Column('session_ends_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('ws_tickets', 'session_ends_at')
    op.drop_column('ws_tickets', 'token_version')
    op.drop_column('users', 'token_version')
