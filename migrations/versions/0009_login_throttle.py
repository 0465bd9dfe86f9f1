"""login_throttle: failed logins per username and per source address

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_throttle',
                    sa.Column('key', sa.String(length=200), nullable=False),
                    sa.Column('failures', sa.Integer(), nullable=False),
                    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
                    sa.PrimaryKeyConstraint('key'))


def downgrade() -> None:
    op.drop_table('login_throttle')
