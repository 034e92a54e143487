"""group orders, quotes, payments, gift vouchers

Revision ID: g0001_group
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = 'g0001_group'
down_revision: str | Sequence[str] | None = '0001_core'
branch_labels: str | Sequence[str] | None = ('group_booking',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('group_orders',
    sa.Column('order_no', sa.String(length=40), nullable=False),
    sa.Column('product_code', sa.String(length=40), nullable=False),
    sa.Column('departure_date', sa.Date(), nullable=False),
    sa.Column('group_model', sa.String(length=1), nullable=False),
    sa.Column('party_size', sa.Integer(), nullable=False),
    sa.Column('travellers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('options', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('contact', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('company', sa.String(length=40), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('light', sa.String(length=10), nullable=True),
    sa.Column('light_reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('quote_id', sa.String(length=40), nullable=True),
    sa.Column('confirmed_quote_id', sa.String(length=40), nullable=True),
    sa.Column('deposit_paid_at', db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('deadline_at', db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('balance_due_on', sa.Date(), nullable=True),
    sa.Column('flow_run_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_no', name=op.f('pk_group_orders'))
    )

    with op.batch_alter_table('group_orders', schema=None) as batch_op:
        batch_op.create_index('ix_group_orders_status', ['status'], unique=False)

    op.create_table('group_quotes',
    sa.Column('quote_id', sa.String(length=40), nullable=False),
    sa.Column('order_no', sa.String(length=40), nullable=False),
    sa.Column('items', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('low_minor', sa.BigInteger(), nullable=False),
    sa.Column('high_minor', sa.BigInteger(), nullable=True),
    sa.Column('confirmed', sa.Boolean(), nullable=False),
    sa.Column('deposit_minor', sa.BigInteger(), nullable=False),
    sa.Column('notices', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_no'], ['group_orders.order_no'], name=op.f('fk_group_quotes_order_no_group_orders')),
    sa.PrimaryKeyConstraint('quote_id', name=op.f('pk_group_quotes'))
    )

    op.create_table('group_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_no', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('idempotency_key', sa.String(length=120), nullable=False),
    sa.Column('gateway_payment_key', sa.String(length=120), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('settled_at', db.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['order_no'], ['group_orders.order_no'], name=op.f('fk_group_payments_order_no_group_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_payments')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_group_payments_idempotency_key'))
    )

    op.create_table('gift_vouchers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_no', sa.String(length=40), nullable=False),
    sa.Column('traveller_index', sa.Integer(), nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('provider_ref', sa.String(length=80), nullable=True),
    sa.Column('sent_at', db.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['order_no'], ['group_orders.order_no'], name=op.f('fk_gift_vouchers_order_no_group_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gift_vouchers')),
    sa.UniqueConstraint('order_no', 'traveller_index', name=op.f('uq_gift_vouchers_order_no_traveller_index'))
    )


def downgrade() -> None:
    op.drop_table('gift_vouchers')
    op.drop_table('group_payments')
    op.drop_table('group_quotes')
    op.drop_table('group_orders')
