"""operations: blob reuse times for garbage collection, digest indexes, per-org storage quotas

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 20:43:20.804485
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Every stored blob gets a row, sha512 ones included (OCI links and manifests stored none before).
BACKFILL_BLOBS = """
INSERT INTO blobs (digest, size, created_at, last_used_at)
SELECT digest, MAX(size), MIN(created_at), MIN(created_at) FROM {table}
WHERE digest NOT IN (SELECT digest FROM blobs) GROUP BY digest
"""


def upgrade() -> None:
    op.create_table('storage_quotas',
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('max_bytes', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id')
    )
    op.add_column('blobs', sa.Column('last_used_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE blobs SET last_used_at = created_at")
    if op.get_bind().dialect.name == 'postgresql':  # SQLite does not enforce VARCHAR lengths
        for table in ('blobs', 'version_files'):
            op.alter_column(table, 'digest', existing_type=sa.VARCHAR(length=80), type_=sa.String(length=160),
                            existing_nullable=False)
    for table in ('image_blob_links', 'image_manifests'):
        op.execute(BACKFILL_BLOBS.format(table=table))
    op.create_index('ix_image_blob_links_digest', 'image_blob_links', ['digest'], unique=False)
    op.create_index('ix_image_manifests_digest', 'image_manifests', ['digest'], unique=False)
    op.create_index('ix_uploads_digest', 'uploads', ['digest'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_uploads_digest', table_name='uploads')
    op.drop_index('ix_image_manifests_digest', table_name='image_manifests')
    op.drop_index('ix_image_blob_links_digest', table_name='image_blob_links')
    op.execute("DELETE FROM blobs WHERE digest NOT LIKE 'sha256:%'")
    if op.get_bind().dialect.name == 'postgresql':
        for table in ('version_files', 'blobs'):
            op.alter_column(table, 'digest', existing_type=sa.String(length=160), type_=sa.VARCHAR(length=80),
                            existing_nullable=False)
    with op.batch_alter_table('blobs', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
    op.drop_table('storage_quotas')
