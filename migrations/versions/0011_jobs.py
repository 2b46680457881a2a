"""jobs of the task queue: state and progress in the database, visible from every worker

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 04:35:00

"""
import sqlalchemy as sa
from alembic import op

import postal.models.base


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.Enum('queued', 'running', 'confirm', 'done', 'failed',
                                   name='jobstate', native_enum=False, length=10),
                  nullable=False),
        sa.Column('stage', sa.String(length=20), nullable=True),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=True),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('error', sa.JSON(), nullable=True),
        sa.Column('worker', sa.String(length=120), nullable=True),
        sa.Column('created_at', postal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', postal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('heartbeat_at', postal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'],
                                name=op.f('fk_job_unit_id_org_unit')),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_job_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
    )
    op.create_index('ix_job_state_heartbeat', 'job', ['state', 'heartbeat_at'], unique=False)
    op.create_index('ix_job_user_id', 'job', ['user_id'], unique=False)


def downgrade():
    op.drop_index('ix_job_user_id', table_name='job')
    op.drop_index('ix_job_state_heartbeat', table_name='job')
    op.drop_table('job')
