"""coupons, downloads, uses, package reservations, settlement runs

Revision ID: c0001_coupons
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = 'c0001_coupons'
down_revision: str | Sequence[str] | None = '0001_core'
branch_labels: str | Sequence[str] | None = ('coupons',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('coupons',
    sa.Column('serial', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=13), nullable=False),
    sa.Column('vendor', sa.String(length=40), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('facilities', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('discount_kind', sa.String(length=10), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('rate_pct', sa.String(length=12), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('min_order_minor', sa.BigInteger(), nullable=True),
    sa.Column('issue_limit', sa.Integer(), nullable=True),
    sa.Column('issued_count', sa.Integer(), nullable=False),
    sa.Column('used_count', sa.Integer(), nullable=False),
    sa.Column('issue_start', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('issue_end', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('validity_days', sa.Integer(), nullable=True),
    sa.Column('valid_from', db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('seller_borne', sa.Boolean(), nullable=False),
    sa.Column('agency_share_pct_old', sa.String(length=8), nullable=True),
    sa.Column('agency_share_pct_new', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('serial', name=op.f('pk_coupons'))
    )

    op.create_table('coupon_downloads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=10), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('downloaded_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['serial'], ['coupons.serial'], name=op.f('fk_coupon_downloads_serial_coupons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_downloads')),
    sa.UniqueConstraint('serial', 'customer_id', name=op.f('uq_coupon_downloads_serial_customer_id'))
    )

    op.create_table('coupon_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('download_id', sa.Integer(), nullable=True),
    sa.Column('serial', sa.String(length=10), nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=False),
    sa.Column('order_amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('discount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('seller_borne', sa.Boolean(), nullable=False),
    sa.Column('used_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('usage_completed_on', sa.Date(), nullable=True),
    sa.Column('cancelled_at', db.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['download_id'], ['coupon_downloads.id'], name=op.f('fk_coupon_uses_download_id_coupon_downloads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_uses'))
    )

    with op.batch_alter_table('coupon_uses', schema=None) as batch_op:
        batch_op.create_index('ix_coupon_uses_completed', ['usage_completed_on'], unique=False)

    op.create_table('package_reservations',
    sa.Column('reservation_id', sa.String(length=40), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('contract_type', sa.String(length=3), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('transaction_type', sa.String(length=1), nullable=False),
    sa.Column('sale_price_minor', sa.BigInteger(), nullable=False),
    sa.Column('variable_price_minor', sa.BigInteger(), nullable=False),
    sa.Column('base_pct', sa.String(length=12), nullable=False),
    sa.Column('over_pct', sa.String(length=12), nullable=False),
    sa.Column('grade_pct', sa.String(length=12), nullable=False),
    sa.Column('coupon_serial', sa.String(length=10), nullable=True),
    sa.Column('coupon_amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('agency_share_pct', sa.String(length=12), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('settle_on', sa.Date(), nullable=True),
    sa.Column('travellers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('reservation_id', name=op.f('pk_package_reservations'))
    )

    with op.batch_alter_table('package_reservations', schema=None) as batch_op:
        batch_op.create_index('ix_package_reservations_changed', ['settle_on'], unique=False)

    op.create_table('settlement_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('book', sa.String(length=40), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('flow_run_id', sa.String(length=40), nullable=True),
    sa.Column('totals', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('rejected', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('started_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_runs')),
    sa.UniqueConstraint('book', 'business_date', name=op.f('uq_settlement_runs_book_business_date'))
    )


def downgrade() -> None:
    op.drop_table('settlement_runs')
    op.drop_table('package_reservations')
    op.drop_table('coupon_uses')
    op.drop_table('coupon_downloads')
    op.drop_table('coupons')
