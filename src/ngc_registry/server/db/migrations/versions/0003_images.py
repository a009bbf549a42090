"""images

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 20:00:34.023747
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('image_uploads',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('repository', sa.String(length=256), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('chunks', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('image_repositories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('image', sa.String(length=128), nullable=False),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('latest_tag', sa.String(length=128), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    with op.batch_alter_table('image_repositories', schema=None) as batch_op:
        batch_op.create_index('ix_image_repositories_org_team', ['org_id', 'team_id'], unique=False)

    op.create_table('image_blob_links',
    sa.Column('repository_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=160), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['repository_id'], ['image_repositories.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repository_id', 'digest')
    )
    op.create_table('image_manifests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('repository_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=160), nullable=False),
    sa.Column('media_type', sa.String(length=255), nullable=False),
    sa.Column('artifact_type', sa.String(length=255), nullable=True),
    sa.Column('subject', sa.String(length=160), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('image_size', sa.BigInteger(), nullable=False),
    sa.Column('annotations', sa.JSON(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['repository_id'], ['image_repositories.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('repository_id', 'digest', name='uq_image_manifests_repository_digest')
    )
    with op.batch_alter_table('image_manifests', schema=None) as batch_op:
        batch_op.create_index('ix_image_manifests_subject', ['repository_id', 'subject'], unique=False)

    op.create_table('image_manifest_references',
    sa.Column('manifest_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=160), nullable=False),
    sa.Column('is_manifest', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['manifest_id'], ['image_manifests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('manifest_id', 'digest')
    )
    with op.batch_alter_table('image_manifest_references', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_manifest_references_digest'), ['digest'], unique=False)

    op.create_table('image_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('repository_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('manifest_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['manifest_id'], ['image_manifests.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['repository_id'], ['image_repositories.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('repository_id', 'name', name='uq_image_tags_repository_name')
    )
    with op.batch_alter_table('image_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_tags_manifest_id'), ['manifest_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('image_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_tags_manifest_id'))

    op.drop_table('image_tags')
    with op.batch_alter_table('image_manifest_references', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_manifest_references_digest'))

    op.drop_table('image_manifest_references')
    with op.batch_alter_table('image_manifests', schema=None) as batch_op:
        batch_op.drop_index('ix_image_manifests_subject')

    op.drop_table('image_manifests')
    op.drop_table('image_blob_links')
    with op.batch_alter_table('image_repositories', schema=None) as batch_op:
        batch_op.drop_index('ix_image_repositories_org_team')

    op.drop_table('image_repositories')
    op.drop_table('image_uploads')
