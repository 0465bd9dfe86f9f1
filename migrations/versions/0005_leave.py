"""leave: requests, per-jurisdiction policies, standing permits and their occurrences

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import geoalchemy2
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_STATUS = "status IN ('pending', 'approved', 'rejected', 'withdrawn')"


def _destination() -> list[sa.Column]:
    # A leave's destination / a permit's area: WGS-84, a circle is centre + radius_m, raw input kept.
    return [
        sa.Column('address', sa.String(length=300), nullable=False),
        sa.Column('geom', geoalchemy2.types.Geometry(srid=4326, spatial_index=False, from_text='ST_GeomFromEWKT',
                                                     name='geometry', nullable=False), nullable=False),
        sa.Column('radius_m', sa.Float(), nullable=True),
        sa.Column('datum', sa.String(length=8), nullable=False),
        sa.Column('raw', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    ]


def upgrade() -> None:
    op.create_table('leave_policies',
    sa.Column('jurisdiction_id', sa.BigInteger(), nullable=False),
    sa.Column('office_max_days', sa.Integer(), nullable=True),
    sa.Column('max_days', sa.Integer(), nullable=True),
    sa.Column('yearly_cap_days', sa.Integer(), nullable=True),
    sa.Column('min_notice_hours', sa.Integer(), nullable=True),
    sa.Column('permit_max_months', sa.Integer(), nullable=True),
    sa.Column('permit_level', sa.String(length=8), nullable=True),
    sa.Column('updated_by', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("permit_level IS NULL OR permit_level IN ('office', 'bureau')", name='permit_level_valid'),
    sa.CheckConstraint('max_days IS NULL OR max_days >= 1', name='max_days_valid'),
    sa.CheckConstraint('office_max_days IS NULL OR office_max_days >= 0', name='office_max_days_valid'),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], ),
    sa.PrimaryKeyConstraint('jurisdiction_id')
    )
    op.create_table('leave_requests',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('requested_by', sa.BigInteger(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('depart_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('return_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('return_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('total_days', sa.Integer(), nullable=False),
    sa.Column('required_level', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decided_level', sa.String(length=8), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cut_short_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fence_id', sa.BigInteger(), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_position', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('overdue_alert_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    *_destination(),
    sa.CheckConstraint("required_level IN ('office', 'bureau')", name='leave_level_valid'),
    sa.CheckConstraint(_STATUS, name='leave_status_valid'),
    sa.CheckConstraint('return_at > depart_at', name='leave_window_order'),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['fence_id'], ['fences.id'], ),
    sa.ForeignKeyConstraint(['office_id'], ['jurisdictions.id'], ),
    sa.ForeignKeyConstraint(['parent_id'], ['leave_requests.id'], ),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_leave_requests_parent_id'), 'leave_requests', ['parent_id'], unique=False)
    op.create_index('leave_requests_office_requested', 'leave_requests', ['office_id', 'requested_at'], unique=False)
    op.create_index('leave_requests_supervisee_window', 'leave_requests', ['supervisee_id', 'depart_at'], unique=False)
    op.create_table('standing_permits',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('requested_by', sa.BigInteger(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('weekdays', postgresql.ARRAY(sa.Integer()), nullable=False),
    sa.Column('start_time', sa.String(length=5), nullable=False),
    sa.Column('end_time', sa.String(length=5), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('required_level', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    *_destination(),
    sa.CheckConstraint(_STATUS, name='permit_status_valid'),
    sa.CheckConstraint('valid_until >= valid_from', name='permit_window_order'),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['office_id'], ['jurisdictions.id'], ),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_standing_permits_supervisee_id'), 'standing_permits', ['supervisee_id'], unique=False)
    # One row per permit occurrence window: the key makes the scheduled job idempotent.
    op.create_table('standing_permit_occurrences',
    sa.Column('permit_id', sa.BigInteger(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fence_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['fence_id'], ['fences.id'], ),
    sa.ForeignKeyConstraint(['permit_id'], ['standing_permits.id'], ),
    sa.PrimaryKeyConstraint('permit_id', 'starts_at')
    )


def downgrade() -> None:
    op.drop_table('standing_permit_occurrences')
    op.drop_index(op.f('ix_standing_permits_supervisee_id'), table_name='standing_permits')
    op.drop_table('standing_permits')
    op.drop_index('leave_requests_supervisee_window', table_name='leave_requests')
    op.drop_index('leave_requests_office_requested', table_name='leave_requests')
    op.drop_index(op.f('ix_leave_requests_parent_id'), table_name='leave_requests')
    op.drop_table('leave_requests')
    op.drop_table('leave_policies')
