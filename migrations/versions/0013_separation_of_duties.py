"""Separation of duties and the bureau's registration queue (issue 12, hole 2 and item 12)

- activation_codes: one-time codes (hash only) a user redeems with their own password;
- account_notices: what was done to an account by someone else (a reset);
- account_requests: an admin's request that waits for a manager (sensitive roles);
- supervisee_registrations: registrations pending bureau review;
- leave_requests: the names (supervisee, office, requester, approver) as they were.
  Rows from before this revision get today's names, the best there is.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_ROLE = "role IN ('officer', 'manager', 'auditor', 'admin', 'supervisee')"


def _stamps(name: str) -> list[sa.Column]:
    return [sa.Column(f'{name}_by', sa.BigInteger(), sa.ForeignKey('users.id'), nullable=True),
            sa.Column(f'{name}_at', sa.DateTime(timezone=True), nullable=True)]


def upgrade() -> None:
    op.create_table(
        'activation_codes',
        sa.Column('id', sa.BigInteger(), primary_key=True),
        sa.Column('user_id', sa.BigInteger(), sa.ForeignKey('users.id'), nullable=False, index=True),
        sa.Column('code_hash', sa.String(64), nullable=False, unique=True),
        sa.Column('purpose', sa.String(8), nullable=False),
        sa.Column('issued_by', sa.BigInteger(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("purpose IN ('create', 'reset')", name='activation_purpose_valid'),
    )
    op.create_table(
        'account_notices',
        sa.Column('id', sa.BigInteger(), primary_key=True),
        sa.Column('user_id', sa.BigInteger(), sa.ForeignKey('users.id'), nullable=False, index=True),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        'account_requests',
        sa.Column('id', sa.BigInteger(), primary_key=True),
        sa.Column('kind', sa.String(8), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('role', sa.String(16), nullable=False),
        sa.Column('username', sa.String(64), nullable=False),
        sa.Column('full_name', sa.String(200), nullable=False),
        sa.Column('jurisdiction_id', sa.BigInteger(), sa.ForeignKey('jurisdictions.id'), nullable=False, index=True),
        sa.Column('supervisee_id', sa.BigInteger(), sa.ForeignKey('supervisees.id'), nullable=True),
        sa.Column('user_id', sa.BigInteger(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('requested_by', sa.BigInteger(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        *_stamps('decided'),
        sa.Column('decision_reason', sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('create', 'reset')", name='account_request_kind_valid'),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name='account_request_status_valid'),
        sa.CheckConstraint(_ROLE, name='role_valid'),
    )
    op.create_index('account_requests_pending_username', 'account_requests', ['username'], unique=True,
                    postgresql_where=sa.text("status = 'pending' AND kind = 'create'"))
    op.create_table(
        'supervisee_registrations',
        sa.Column('id', sa.BigInteger(), primary_key=True),
        sa.Column('office_id', sa.BigInteger(), sa.ForeignKey('jurisdictions.id'), nullable=False, index=True),
        sa.Column('reason', sa.String(32), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('id_hash', sa.String(64), nullable=False, index=True),
        sa.Column('id_last4', sa.String(4), nullable=False),
        sa.Column('data', postgresql.JSONB(), nullable=False),
        sa.Column('requested_by', sa.BigInteger(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        *_stamps('decided'),
        sa.Column('decision_reason', sa.Text(), nullable=True),
        sa.Column('supervisee_id', sa.BigInteger(), sa.ForeignKey('supervisees.id'), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'accepted', 'rejected')", name='registration_status_valid'),
        sa.CheckConstraint("reason IN ('national_id_match', 'sample')", name='registration_reason_valid'),
    )
    for name in ('supervisee_name', 'office_name', 'requester_name', 'approver_name'):
        op.add_column('leave_requests', sa.Column(name, sa.String(200), nullable=True))
    op.execute("""
        UPDATE leave_requests l SET
          supervisee_name = (SELECT s.name FROM supervisees s WHERE s.id = l.supervisee_id),
          office_name = (SELECT j.name FROM jurisdictions j WHERE j.id = l.office_id),
          requester_name = (SELECT u.full_name FROM users u WHERE u.id = l.requested_by),
          approver_name = (SELECT u.full_name FROM users u WHERE u.id = l.decided_by)
    """)


def downgrade() -> None:
    for name in ('approver_name', 'requester_name', 'office_name', 'supervisee_name'):
        op.drop_column('leave_requests', name)
    op.drop_table('supervisee_registrations')
    op.drop_index('account_requests_pending_username', table_name='account_requests')
    op.drop_table('account_requests')
    op.drop_table('account_notices')
    op.drop_table('activation_codes')
