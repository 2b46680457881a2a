"""the courier's phone offline: proofs stored once by the phone's id, photos sent in parts,
phones' clocks seen by the server, procedures whose results need an ID check at the door

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 09:00:00

"""
import sqlalchemy as sa
from alembic import op

import postal.models.base


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('clock_skew_s', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_delivery_attempt_client_id'),
                                          ['client_id'])
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_id_check', sa.Boolean(), nullable=False,
                                      server_default='0'))
    op.create_table(
        'photo_upload',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('length', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('received', sa.Integer(), nullable=False),
        sa.Column('created_at', postal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_photo_upload_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_photo_upload')),
    )
    with op.batch_alter_table('photo_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_upload_user_id'), ['user_id'], unique=False)
    op.create_table(
        'photo_upload_part',
        sa.Column('upload_id', sa.String(length=64), nullable=False),
        sa.Column('offset', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['upload_id'], ['photo_upload.id'],
                                name=op.f('fk_photo_upload_part_upload_id_photo_upload')),
        sa.PrimaryKeyConstraint('upload_id', 'offset', name=op.f('pk_photo_upload_part')),
    )
    op.create_table(
        'device_clock',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.String(length=64), nullable=False),
        sa.Column('checked_at', postal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('skew_s', sa.Integer(), nullable=False),
        sa.Column('flagged_since', postal.models.base.UTCDateTime(timezone=True),
                  nullable=True),
        sa.Column('worst_skew_s', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_device_clock_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_device_clock')),
        sa.UniqueConstraint('user_id', 'device_id', name=op.f('uq_device_clock_user_id')),
    )
    with op.batch_alter_table('device_clock', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_clock_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('device_clock', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_clock_user_id'))
    op.drop_table('device_clock')
    op.drop_table('photo_upload_part')
    with op.batch_alter_table('photo_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_upload_user_id'))
    op.drop_table('photo_upload')
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.drop_column('delivery_id_check')
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_delivery_attempt_client_id'), type_='unique')
        batch_op.drop_column('clock_skew_s')
        batch_op.drop_column('client_id')
