"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 20:45:58.651153
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from backend.domain.models.types import UTCDateTime

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('admins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('password_hash', sa.String(length=128), nullable=False),
    sa.Column('role', sa.Enum('owner', 'marketing', 'readonly', name='adminrole', native_enum=False, length=16), nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email', name=op.f('uq_admins_email')),
    sa.UniqueConstraint('telegram_id', name=op.f('uq_admins_telegram_id'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('actor_kind', sa.Enum('admin', 'system', 'cashier', 'customer', name='actorkind', native_enum=False, length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=255), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity_type', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_actor_kind_actor_id', ['actor_kind', 'actor_id'], unique=False)
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_log_entity_type_entity_id', ['entity_type', 'entity_id'], unique=False)

    op.create_table('cashiers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('store', sa.String(length=64), nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=True),
    sa.Column('invite_code_hash', sa.String(length=64), nullable=True),
    sa.Column('invite_expires_at', UTCDateTime(), nullable=True),
    sa.Column('joined_at', UTCDateTime(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('invite_code_hash', name=op.f('uq_cashiers_invite_code_hash')),
    sa.UniqueConstraint('telegram_id', name=op.f('uq_cashiers_telegram_id'))
    )
    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('first_name', sa.String(length=128), nullable=False),
    sa.Column('last_name', sa.String(length=128), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('birth_month', sa.SmallInteger(), nullable=True),
    sa.Column('birth_day', sa.SmallInteger(), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('status', sa.Enum('active', 'unsubscribed', 'blocked', name='customerstatus', native_enum=False, length=16), nullable=False),
    sa.Column('marketing_consent_at', UTCDateTime(), nullable=True),
    sa.Column('subscribed_at', UTCDateTime(), nullable=True),
    sa.Column('unsubscribed_at', UTCDateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('last_seen_at', UTCDateTime(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('telegram_id', name=op.f('uq_customers_telegram_id'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index('ix_customers_birth_month_birth_day', ['birth_month', 'birth_day'], unique=False)
        batch_op.create_index('ix_customers_last_seen_at', ['last_seen_at'], unique=False)
        batch_op.create_index('ix_customers_source', ['source'], unique=False)
        batch_op.create_index('ix_customers_status_created_at', ['status', 'created_at'], unique=False)

    op.create_table('segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', name=op.f('uq_segments_name'))
    )
    op.create_table('tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', name=op.f('uq_tags_name'))
    )
    op.create_table('templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('parse_mode', sa.Enum('plain', 'HTML', 'MarkdownV2', name='parsemode', native_enum=False, length=16), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=True),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', name=op.f('uq_templates_key'))
    )
    op.create_table('admin_login_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('admin_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('used_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['admin_id'], ['admins.id'], name=op.f('fk_admin_login_tokens_admin_id_admins'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash', name=op.f('uq_admin_login_tokens_token_hash'))
    )
    with op.batch_alter_table('admin_login_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_login_tokens_admin_id'), ['admin_id'], unique=False)

    op.create_table('broadcasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('parse_mode', sa.Enum('plain', 'HTML', 'MarkdownV2', name='parsemode', native_enum=False, length=16), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=True),
    sa.Column('rules_snapshot', sa.JSON(), nullable=True),
    sa.Column('promo_percent', sa.SmallInteger(), nullable=True),
    sa.Column('status', sa.Enum('draft', 'scheduled', 'sending', 'paused', 'completed', 'cancelled', 'failed', name='broadcaststatus', native_enum=False, length=16), nullable=False),
    sa.Column('scheduled_at', UTCDateTime(), nullable=True),
    sa.Column('started_at', UTCDateTime(), nullable=True),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.Column('created_by_admin_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_admin_id'], ['admins.id'], name=op.f('fk_broadcasts_created_by_admin_id_admins'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_broadcasts_segment_id_segments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.create_index('ix_broadcasts_status_scheduled_at', ['status', 'scheduled_at'], unique=False)

    op.create_table('customer_tags',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_tags_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_customer_tags_tag_id_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'tag_id')
    )
    with op.batch_alter_table('customer_tags', schema=None) as batch_op:
        batch_op.create_index('ix_customer_tags_tag_id_customer_id', ['tag_id', 'customer_id'], unique=False)

    op.create_table('shop_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('updated_by_admin_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_admin_id'], ['admins.id'], name=op.f('fk_shop_settings_updated_by_admin_id_admins'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('broadcast_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('broadcast_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', 'blocked', name='deliverystatus', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.SmallInteger(), nullable=False),
    sa.Column('last_error', sa.String(length=255), nullable=True),
    sa.Column('telegram_message_id', sa.BigInteger(), nullable=True),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], name=op.f('fk_broadcast_deliveries_broadcast_id_broadcasts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_broadcast_deliveries_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('broadcast_id', 'customer_id', name=op.f('uq_broadcast_deliveries_broadcast_id_customer_id'))
    )
    with op.batch_alter_table('broadcast_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_broadcast_deliveries_broadcast_id_status', ['broadcast_id', 'status'], unique=False)
        batch_op.create_index('ix_broadcast_deliveries_customer_id', ['customer_id'], unique=False)

    op.create_table('discounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('subscription', 'birthday', 'manual', 'promo', name='discountkind', native_enum=False, length=16), nullable=False),
    sa.Column('percent', sa.SmallInteger(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('status', sa.Enum('active', 'redeemed', 'expired', 'cancelled', name='discountstatus', native_enum=False, length=16), nullable=False),
    sa.Column('once_key', sa.String(length=32), nullable=True),
    sa.Column('issued_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('redeemed_at', UTCDateTime(), nullable=True),
    sa.Column('cancelled_at', UTCDateTime(), nullable=True),
    sa.Column('issued_by_kind', sa.Enum('admin', 'system', 'cashier', 'customer', name='actorkind', native_enum=False, length=16), nullable=False),
    sa.Column('issued_by_admin_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('cashier_id', sa.Integer(), nullable=True),
    sa.Column('purchase_amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('store', sa.String(length=64), nullable=True),
    sa.Column('broadcast_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], name=op.f('fk_discounts_broadcast_id_broadcasts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cashier_id'], ['cashiers.id'], name=op.f('fk_discounts_cashier_id_cashiers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_discounts_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['issued_by_admin_id'], ['admins.id'], name=op.f('fk_discounts_issued_by_admin_id_admins'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code', name=op.f('uq_discounts_code')),
    sa.UniqueConstraint('customer_id', 'once_key', name=op.f('uq_discounts_customer_id_once_key'))
    )
    with op.batch_alter_table('discounts', schema=None) as batch_op:
        batch_op.create_index('ix_discounts_broadcast_id', ['broadcast_id'], unique=False)
        batch_op.create_index('ix_discounts_cashier_id_redeemed_at', ['cashier_id', 'redeemed_at'], unique=False)
        batch_op.create_index('ix_discounts_customer_id_status', ['customer_id', 'status'], unique=False)
        batch_op.create_index('ix_discounts_kind_issued_at', ['kind', 'issued_at'], unique=False)
        batch_op.create_index('ix_discounts_redeemed_at', ['redeemed_at'], unique=False)
        batch_op.create_index('ix_discounts_status_expires_at', ['status', 'expires_at'], unique=False)



def downgrade() -> None:
    # Dropping a table drops its indexes; dropping them first fails on MySQL
    # where an index backs a foreign key.
    op.drop_table('discounts')
    op.drop_table('broadcast_deliveries')
    op.drop_table('shop_settings')
    op.drop_table('customer_tags')
    op.drop_table('broadcasts')
    op.drop_table('admin_login_tokens')
    op.drop_table('templates')
    op.drop_table('tags')
    op.drop_table('segments')
    op.drop_table('customers')
    op.drop_table('cashiers')
    op.drop_table('audit_log')
    op.drop_table('admins')
