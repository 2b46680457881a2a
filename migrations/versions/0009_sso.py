"""single sign-on: administrators' rules from a provider's claims to a role and unit, and the
provider identities (issuer + subject) linked to staff accounts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 04:21:10

"""
import sqlalchemy as sa
from alembic import op

import postal.models.base


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sso_rule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('claim', sa.String(length=100), nullable=False),
        sa.Column('value', sa.String(length=200), nullable=False),
        sa.Column('role', sa.Enum('clerk', 'courier', 'agency', 'manager', 'admin', name='role',
                                  native_enum=False, length=12), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('created_at', postal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'],
                                name=op.f('fk_sso_rule_unit_id_org_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_rule')),
    )
    op.create_table(
        'sso_identity',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('issuer', sa.String(length=300), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('provisioned', sa.Boolean(), nullable=False),
        sa.Column('created_at', postal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_login_at', postal.models.base.UTCDateTime(timezone=True),
                  nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_sso_identity_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_identity')),
        sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_sso_identity_issuer')),
    )
    with op.batch_alter_table('sso_identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_identity_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sso_identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_identity_user_id'))
    op.drop_table('sso_identity')
    op.drop_table('sso_rule')
