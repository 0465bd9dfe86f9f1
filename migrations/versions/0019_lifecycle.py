"""End of term: release records, legal holds, purge records, term reminders; leave destinations scrubbable

The exact point of a leave destination or standing permit is operational data
purged after the term (its request stays in the legal file), so ``geom`` of
``leave_requests`` and ``standing_permits`` becomes nullable.

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('supervision_releases',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_by', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('summary', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('purge_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('term_end', 'early')", name='release_kind_valid'),
    sa.ForeignKeyConstraint(['released_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('supervisee_id')
    )
    op.create_table('legal_holds',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('set_by', sa.BigInteger(), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_by', sa.BigInteger(), nullable=True),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lift_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['lifted_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['set_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('legal_holds_active', 'legal_holds', ['supervisee_id'], unique=False,
                    postgresql_where=sa.text('lifted_at IS NULL'))
    op.create_table('purge_records',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('counts', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('time_ranges', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_purge_records_supervisee_id'), 'purge_records', ['supervisee_id'], unique=False)
    op.create_table('term_reminders',
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('term_end', sa.Date(), nullable=False),
    sa.Column('days_before', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.BigInteger(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('supervisee_id', 'term_end', 'days_before')
    )
    op.alter_column('leave_requests', 'geom', nullable=True)
    op.alter_column('standing_permits', 'geom', nullable=True)


def downgrade() -> None:
    op.alter_column('standing_permits', 'geom', nullable=False)
    op.alter_column('leave_requests', 'geom', nullable=False)
    op.drop_table('term_reminders')
    op.drop_index(op.f('ix_purge_records_supervisee_id'), table_name='purge_records')
    op.drop_table('purge_records')
    op.drop_index('legal_holds_active', table_name='legal_holds', postgresql_where=sa.text('lifted_at IS NULL'))
    op.drop_table('legal_holds')
    op.drop_table('supervision_releases')
