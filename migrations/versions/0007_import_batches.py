"""import batches: a file import is written in chunks and undone whole if it fails

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 04:00:00

"""
import sqlalchemy as sa
from alembic import op

import postal.models.base


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'import_batch',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('created', sa.JSON(), nullable=False),
        sa.Column('started_at', postal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('touched_at', postal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', postal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_import_batch_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batch')),
    )
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_batch_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_dossier_import_batch_id'), ['import_batch_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_dossier_import_batch_id_import_batch'),
                                    'import_batch', ['import_batch_id'], ['id'])


def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dossier_import_batch_id_import_batch'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_dossier_import_batch_id'))
        batch_op.drop_column('import_batch_id')
    op.drop_table('import_batch')
