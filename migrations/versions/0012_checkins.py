"""check-ins: local policies, plans, occurrences (unique per plan + slot key), one-time challenges,
submissions, face enrolments and the ledger of missed / failed check-ins

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checkin_policies',
    sa.Column('jurisdiction_id', sa.BigInteger(), nullable=False),
    sa.Column('plan', sa.String(length=16), nullable=True),
    sa.Column('daily_window', sa.String(length=11), nullable=True),
    sa.Column('report_window', sa.String(length=11), nullable=True),
    sa.Column('report_weekday', sa.Integer(), nullable=True),
    sa.Column('fixed_windows', postgresql.ARRAY(sa.String(length=11)), nullable=True),
    sa.Column('spot_per_week', sa.Integer(), nullable=True),
    sa.Column('spot_answer_minutes', sa.Integer(), nullable=True),
    sa.Column('updated_by', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("plan IS NULL OR plan IN ('tier', 'fixed_windows')", name='plan_valid'),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], ),
    sa.PrimaryKeyConstraint('jurisdiction_id')
    )
    op.create_table('checkin_plans',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('rule', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('cycle_anchor', sa.Date(), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('materialised_to', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('checkin_plans_current', 'checkin_plans', ['supervisee_id'], unique=True, postgresql_where=sa.text('valid_to IS NULL'))
    op.create_index(op.f('ix_checkin_plans_supervisee_id'), 'checkin_plans', ['supervisee_id'], unique=False)
    op.create_table('face_enrolments',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('templates', sa.LargeBinary(), nullable=False),
    sa.Column('media_ids', postgresql.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('enrolled_by', sa.BigInteger(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('face_enrolments_current', 'face_enrolments', ['supervisee_id'], unique=True, postgresql_where=sa.text('active'))
    op.create_index(op.f('ix_face_enrolments_supervisee_id'), 'face_enrolments', ['supervisee_id'], unique=False)
    op.create_table('checkin_occurrences',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('plan_id', sa.BigInteger(), nullable=True),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('requires_face', sa.Boolean(), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('issued_by', sa.BigInteger(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('judged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('alert_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('scheduled', 'due', 'submitted', 'missed', 'missed_outage', 'cancelled')", name='state_valid'),
    sa.CheckConstraint('closes_at > opens_at', name='window_order'),
    sa.ForeignKeyConstraint(['plan_id'], ['checkin_plans.id'], ),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'key', name='checkin_occurrences_once')
    )
    op.create_index('checkin_occurrences_closing', 'checkin_occurrences', ['closes_at'], unique=False, postgresql_where=sa.text("state IN ('scheduled', 'due')"))
    op.create_index('checkin_occurrences_office', 'checkin_occurrences', ['office_id', 'opens_at'], unique=False)
    op.create_index('checkin_occurrences_officer_key', 'checkin_occurrences', ['key'], unique=True, postgresql_where=sa.text('plan_id IS NULL'))
    op.create_index('checkin_occurrences_open', 'checkin_occurrences', ['opens_at'], unique=False, postgresql_where=sa.text("state = 'scheduled'"))
    op.create_index('checkin_occurrences_person', 'checkin_occurrences', ['supervisee_id', 'opens_at'], unique=False)
    op.create_table('checkin_challenges',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('occurrence_id', sa.BigInteger(), nullable=False),
    sa.Column('nonce_hash', sa.String(length=64), nullable=False),
    sa.Column('challenge', sa.String(length=32), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['occurrence_id'], ['checkin_occurrences.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('nonce_hash')
    )
    op.create_index(op.f('ix_checkin_challenges_occurrence_id'), 'checkin_challenges', ['occurrence_id'], unique=False)
    op.create_table('checkin_ledger',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('occurrence_id', sa.BigInteger(), nullable=False),
    sa.Column('submission_id', sa.BigInteger(), nullable=True),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=64), nullable=False),
    sa.Column('consecutive', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("decision IS NULL OR decision IN ('confirmed', 'overturned')", name='decision_valid'),
    sa.CheckConstraint("kind IN ('missed', 'missed_outage', 'failed')", name='kind_valid'),
    sa.ForeignKeyConstraint(['occurrence_id'], ['checkin_occurrences.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('occurrence_id', 'kind', name='checkin_ledger_once')
    )
    op.create_index('checkin_ledger_queue', 'checkin_ledger', ['office_id', 'created_at'], unique=False, postgresql_where=sa.text('decision IS NULL'))
    op.create_index(op.f('ix_checkin_ledger_supervisee_id'), 'checkin_ledger', ['supervisee_id'], unique=False)
    op.create_table('checkin_submissions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('occurrence_id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fix_id', sa.BigInteger(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=False),
    sa.Column('datum', sa.String(length=8), nullable=False),
    sa.Column('location', sa.String(length=16), nullable=False),
    sa.Column('challenge', sa.String(length=32), nullable=True),
    sa.Column('face', sa.String(length=16), nullable=True),
    sa.Column('face_distance', sa.Float(), nullable=True),
    sa.Column('liveness', sa.String(length=64), nullable=True),
    sa.Column('neutral_media_id', sa.BigInteger(), nullable=True),
    sa.Column('challenge_media_id', sa.BigInteger(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('separation_m', sa.Float(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['occurrence_id'], ['checkin_occurrences.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('occurrence_id')
    )
    op.create_index(op.f('ix_checkin_submissions_supervisee_id'), 'checkin_submissions', ['supervisee_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_checkin_submissions_supervisee_id'), table_name='checkin_submissions')
    op.drop_table('checkin_submissions')
    op.drop_index(op.f('ix_checkin_ledger_supervisee_id'), table_name='checkin_ledger')
    op.drop_index('checkin_ledger_queue', table_name='checkin_ledger', postgresql_where=sa.text('decision IS NULL'))
    op.drop_table('checkin_ledger')
    op.drop_index(op.f('ix_checkin_challenges_occurrence_id'), table_name='checkin_challenges')
    op.drop_table('checkin_challenges')
    op.drop_index('checkin_occurrences_person', table_name='checkin_occurrences')
    op.drop_index('checkin_occurrences_open', table_name='checkin_occurrences', postgresql_where=sa.text("state = 'scheduled'"))
    op.drop_index('checkin_occurrences_officer_key', table_name='checkin_occurrences', postgresql_where=sa.text('plan_id IS NULL'))
    op.drop_index('checkin_occurrences_office', table_name='checkin_occurrences')
    op.drop_index('checkin_occurrences_closing', table_name='checkin_occurrences', postgresql_where=sa.text("state IN ('scheduled', 'due')"))
    op.drop_table('checkin_occurrences')
    op.drop_index(op.f('ix_face_enrolments_supervisee_id'), table_name='face_enrolments')
    op.drop_index('face_enrolments_current', table_name='face_enrolments', postgresql_where=sa.text('active'))
    op.drop_table('face_enrolments')
    op.drop_index(op.f('ix_checkin_plans_supervisee_id'), table_name='checkin_plans')
    op.drop_index('checkin_plans_current', table_name='checkin_plans', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_table('checkin_plans')
    op.drop_table('checkin_policies')
