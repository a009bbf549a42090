"""search: an index for a team's search, whose org-level half is the org's rows without a team

A team's search shows the team's models and those of the org space above it. The org-level rows were told
from the team rows by `resource_id NOT LIKE 'org/%/%'`, which walked every id of the org (66,000 in bench/).
(kind, team_id, resource_id) gives them as one ordered range: count and page from the index alone.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 01:20:00.000000
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('artifacts', schema=None) as batch_op:
        batch_op.create_index('ix_artifacts_kind_team_resource', ['kind', 'team_id', 'resource_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('artifacts', schema=None) as batch_op:
        batch_op.drop_index('ix_artifacts_kind_team_resource')
