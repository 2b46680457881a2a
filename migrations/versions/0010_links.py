"""links to other systems: webhook subscribers, link events and their deliveries (webhooks,
national portal, VNPost), SMS gateway ids and delivery status on notifications

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 04:40:00

"""
import sqlalchemy as sa
from alembic import op

import postal.models.base


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

UTC = postal.models.base.UTCDateTime(timezone=True)


def upgrade():
    op.create_table(
        'webhook_subscriber',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('secret', sa.String(length=200), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscriber')),
    )
    op.create_table(
        'link_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=36), nullable=False),
        sa.Column('event', sa.String(length=40), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=True),
        sa.Column('occurred_at', UTC, nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('fanned_out', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'],
                                name=op.f('fk_link_event_dossier_id_dossier')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_link_event')),
        sa.UniqueConstraint('key', name=op.f('uq_link_event_key')),
    )
    with op.batch_alter_table('link_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_event_dossier_id'), ['dossier_id'])
        batch_op.create_index(batch_op.f('ix_link_event_fanned_out'), ['fanned_out'])
    op.create_table(
        'link_delivery',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('target', sa.String(length=20), nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.Enum('pending', 'sent', 'dead', name='deliverystatus',
                                    native_enum=False, length=10), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('next_attempt_at', UTC, nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('response', sa.Text(), nullable=True),
        sa.Column('sent_at', UTC, nullable=True),
        sa.ForeignKeyConstraint(['event_id'], ['link_event.id'],
                                name=op.f('fk_link_delivery_event_id_link_event')),
        sa.ForeignKeyConstraint(['subscriber_id'], ['webhook_subscriber.id'],
                                name=op.f('fk_link_delivery_subscriber_id_webhook_subscriber'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_link_delivery')),
        sa.UniqueConstraint('key', name=op.f('uq_link_delivery_key')),
    )
    with op.batch_alter_table('link_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_delivery_event_id'), ['event_id'])
        batch_op.create_index(batch_op.f('ix_link_delivery_subscriber_id'), ['subscriber_id'])
        batch_op.create_index('ix_link_delivery_due', ['status', 'next_attempt_at'])
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_ref', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('delivery_status', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('segments', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notification_provider_ref'), ['provider_ref'])


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_provider_ref'))
        batch_op.drop_column('segments')
        batch_op.drop_column('delivery_status')
        batch_op.drop_column('provider_ref')
    op.drop_table('link_delivery')
    op.drop_table('link_event')
    op.drop_table('webhook_subscriber')
