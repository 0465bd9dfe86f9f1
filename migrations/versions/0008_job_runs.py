"""job_runs: each periodic job's last run, so schedules survive restarts

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_runs',
                    sa.Column('name', sa.String(length=64), nullable=False),
                    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('name'))


def downgrade() -> None:
    op.drop_table('job_runs')
