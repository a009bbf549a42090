"""search: indexes for the public catalog (kind/visibility first, then the id pages are ordered by)

The catalog search asks for public rows of orgs the caller is not in, ordered by resource id. With no index on
`is_public` it counted every row of the kind and walked the other orgs' rows to fill a page. These indexes answer
the count and the page from the index alone: `org_id` is their last column so the "not my orgs" condition needs
no row either.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 00:40:00.000000
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('artifacts', schema=None) as batch_op:
        batch_op.create_index('ix_artifacts_kind_public_resource', ['kind', 'is_public', 'resource_id', 'org_id'],
                              unique=False)
    with op.batch_alter_table('image_repositories', schema=None) as batch_op:
        batch_op.create_index('ix_image_repositories_public_name', ['is_public', 'name', 'org_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('image_repositories', schema=None) as batch_op:
        batch_op.drop_index('ix_image_repositories_public_name')
    with op.batch_alter_table('artifacts', schema=None) as batch_op:
        batch_op.drop_index('ix_artifacts_kind_public_resource')
