"""rename fence_tracks -> fence_folds and its checkpoints -> snapshots

"Track" meant fixes elsewhere and "checkpoint" meant the signed audit heads;
this table holds neither: it keeps snapshots of each fence's persistence fold.

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.rename_table('fence_tracks', 'fence_folds')
    op.alter_column('fence_folds', 'checkpoints', new_column_name='snapshots')
    op.execute('ALTER INDEX ix_fence_tracks_supervisee_id RENAME TO ix_fence_folds_supervisee_id')
    op.execute('ALTER TABLE fence_folds RENAME CONSTRAINT fence_tracks_pkey TO fence_folds_pkey')
    op.execute('ALTER TABLE fence_folds RENAME CONSTRAINT fence_tracks_fence_id_fkey TO fence_folds_fence_id_fkey')


def downgrade() -> None:
    op.execute('ALTER TABLE fence_folds RENAME CONSTRAINT fence_folds_fence_id_fkey TO fence_tracks_fence_id_fkey')
    op.execute('ALTER TABLE fence_folds RENAME CONSTRAINT fence_folds_pkey TO fence_tracks_pkey')
    op.execute('ALTER INDEX ix_fence_folds_supervisee_id RENAME TO ix_fence_tracks_supervisee_id')
    op.alter_column('fence_folds', 'snapshots', new_column_name='checkpoints')
    op.rename_table('fence_folds', 'fence_tracks')
