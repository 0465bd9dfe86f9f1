"""remote roll-calls (远程点名): the officer's request, its outcome and decision, and the frames kept

Revision ID: 0023
Revises: 0022
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rollcalls',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('office_id', sa.BigInteger(), nullable=False),
    sa.Column('camera_id', sa.BigInteger(), nullable=False),
    sa.Column('camera_name', sa.String(length=200), nullable=False),
    sa.Column('camera_lon', sa.Float(), nullable=False),
    sa.Column('camera_lat', sa.Float(), nullable=False),
    sa.Column('gesture', sa.String(length=32), nullable=False),
    sa.Column('requested_by', sa.BigInteger(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('distance', sa.Float(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('waiting', 'done', 'cancelled')", name='state_valid'),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('match', 'inconclusive', 'no_match', 'no_face', 'camera_failed')",
                       name='outcome_valid'),
    sa.CheckConstraint("decision IS NULL OR decision IN ('confirmed', 'overturned')", name='decision_valid'),
    sa.CheckConstraint('deadline_at > requested_at', name='window_order'),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('rollcalls_waiting', 'rollcalls', ['deadline_at'], unique=False,
                    postgresql_where=sa.text("state = 'waiting'"))
    op.create_index('rollcalls_person', 'rollcalls', ['supervisee_id', 'requested_at'], unique=False)
    op.create_index('rollcalls_office', 'rollcalls', ['office_id', 'requested_at'], unique=False)
    op.create_table('rollcall_frames',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('rollcall_id', sa.BigInteger(), nullable=False),
    sa.Column('supervisee_id', sa.BigInteger(), nullable=False),
    sa.Column('media_id', sa.BigInteger(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('grabbed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('faces', sa.Integer(), nullable=False),
    sa.Column('distance', sa.Float(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['rollcall_id'], ['rollcalls.id'], ),
    sa.ForeignKeyConstraint(['supervisee_id'], ['supervisees.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_rollcall_frames_rollcall_id'), 'rollcall_frames', ['rollcall_id'], unique=False)
    op.create_index(op.f('ix_rollcall_frames_supervisee_id'), 'rollcall_frames', ['supervisee_id'], unique=False)


def downgrade() -> None:
    op.drop_table('rollcall_frames')
    op.drop_table('rollcalls')
