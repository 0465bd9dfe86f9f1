"""sanctions and explainable risk: sanction records and proposals (unique per rule step), approval
policies, monthly assessments, the obligations ledger, daily risk assessments with their named factors,
and tier proposals (one open per supervisee)

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sanction_policies',
    sa.Column('jurisdiction_id', sa.BigInteger(), nullable=False),
    sa.Column('praise_level', sa.String(length=8), nullable=True),
    sa.Column('admonition_level', sa.String(length=8), nullable=True),
    sa.Column('warning_level', sa.String(length=8), nullable=True),
    sa.Column('proposal_level', sa.String(length=8), nullable=True),
    sa.Column('tier_level', sa.String(length=8), nullable=True),
    sa.Column('updated_by', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("admonition_level IS NULL OR admonition_level IN ('office', 'bureau')", name='admonition_level_valid'),
    sa.CheckConstraint("praise_level IS NULL OR praise_level IN ('office', 'bureau')", name='praise_level_valid'),
    sa.CheckConstraint("proposal_level IS NULL OR proposal_level IN ('office', 'bureau')", name='proposal_level_valid'),
    sa.CheckConstraint("tier_level IS NULL OR tier_level IN ('office', 'bureau')", name='tier_level_valid'),
    sa.CheckConstraint("warning_level IS NULL OR warning_level IN ('office', 'bureau')", name='warning_level_valid'),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], ),
    sa.PrimaryKeyConstraint('jurisdiction_id')
    )
    op.create_table('monthly_assessments',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('grade', sa.String(length=8), nullable=False),
    sa.Column('breakdown', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by', sa.BigInteger(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirm_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("grade IN ('good', 'pass', 'fail')", name='grade_valid'),
    sa.CheckConstraint('extract(day FROM month) = 1', name='month_first_day'),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('supervisee_id', 'month', name='monthly_assessments_once')
    )
    op.create_table('obligation_entries',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('hours', sa.Float(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('entered_by', sa.BigInteger(), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('study', 'service')", name='kind_valid'),
    sa.CheckConstraint('extract(day FROM month) = 1', name='month_first_day'),
    sa.CheckConstraint('hours > 0 AND hours <= 200', name='hours_range'),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('obligation_entries_month', 'obligation_entries', ['supervisee_id', 'month'], unique=False)
    op.create_table('risk_assessments',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('computed_on', sa.Date(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('supervisee_id', 'computed_on', name='risk_assessments_daily')
    )
    op.create_table('sanctions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('rule_key', sa.String(length=200), nullable=True),
    sa.Column('proposed_by', sa.BigInteger(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('required_level', sa.String(length=8), nullable=False),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decided_level', sa.String(length=8), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('praise', 'admonition', 'warning', 'police_penalty_proposal', 'revocation_proposal', 'custody_proposal')", name='kind_valid'),
    sa.CheckConstraint("required_level IN ('office', 'bureau')", name='required_level_valid'),
    sa.CheckConstraint("status IN ('proposed', 'imposed', 'rejected')", name='status_valid'),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('supervisee_id', 'rule_key', name='sanctions_rule_once')
    )
    op.create_index('sanctions_person', 'sanctions', ['supervisee_id', 'proposed_at'], unique=False)
    op.create_index('sanctions_queue', 'sanctions', ['office_id', 'proposed_at'], unique=False, postgresql_where=sa.text("status = 'proposed'"))
    op.create_table('tier_proposals',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('from_tier', sa.String(length=16), nullable=False),
    sa.Column('to_tier', sa.String(length=16), nullable=False),
    sa.Column('reasons', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('rule_key', sa.String(length=300), nullable=False),
    sa.Column('risk_assessment_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('required_level', sa.String(length=8), nullable=False),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decided_level', sa.String(length=8), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('proposed', 'confirmed', 'rejected')", name='status_valid'),
    sa.CheckConstraint("to_tier IN ('strict', 'ordinary', 'lenient') AND to_tier <> from_tier", name='tier_move'),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('supervisee_id', 'rule_key', name='tier_proposals_once')
    )
    op.create_index('tier_proposals_open', 'tier_proposals', ['supervisee_id'], unique=True, postgresql_where=sa.text("status = 'proposed'"))
    op.create_table('risk_factors',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('assessment_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['risk_assessments.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('assessment_id', 'name', name='risk_factors_once')
    )


def downgrade() -> None:
    op.drop_table('risk_factors')
    op.drop_index('tier_proposals_open', table_name='tier_proposals', postgresql_where=sa.text("status = 'proposed'"))
    op.drop_table('tier_proposals')
    op.drop_index('sanctions_queue', table_name='sanctions', postgresql_where=sa.text("status = 'proposed'"))
    op.drop_index('sanctions_person', table_name='sanctions')
    op.drop_table('sanctions')
    op.drop_table('risk_assessments')
    op.drop_index('obligation_entries_month', table_name='obligation_entries')
    op.drop_table('obligation_entries')
    op.drop_table('monthly_assessments')
    op.drop_table('sanction_policies')
