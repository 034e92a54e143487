"""hotels, rates, room charts, bookings, virtual cards

Revision ID: h0001_hotels
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = 'h0001_hotels'
down_revision: str | Sequence[str] | None = '0001_core'
branch_labels: str | Sequence[str] | None = ('hotel_vcc',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('hotels',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('region', sa.String(length=40), nullable=False),
    sa.Column('timezone', sa.String(length=40), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reservation_email', sa.String(length=200), nullable=False),
    sa.Column('payments_email', sa.String(length=200), nullable=True),
    sa.Column('cc_emails', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('room_chart', sa.Boolean(), nullable=False),
    sa.Column('vnd', sa.Boolean(), nullable=False),
    sa.Column('inquiry_first', sa.Boolean(), nullable=False),
    sa.Column('split_delivery', sa.Boolean(), nullable=False),
    sa.Column('reply_limit_days', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_hotels'))
    )

    op.create_table('hotel_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hotel_code', sa.String(length=20), nullable=False),
    sa.Column('room_type', sa.String(length=40), nullable=False),
    sa.Column('season_start', sa.Date(), nullable=False),
    sa.Column('season_end', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('nightly_minor', sa.BigInteger(), nullable=False),
    sa.Column('extra_person_minor', sa.BigInteger(), nullable=False),
    sa.Column('breakfast_minor', sa.BigInteger(), nullable=False),
    sa.Column('base_occupancy', sa.Integer(), nullable=False),
    sa.Column('max_occupancy', sa.Integer(), nullable=False),
    sa.Column('breakfast_included', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['hotel_code'], ['hotels.code'], name=op.f('fk_hotel_rates_hotel_code_hotels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hotel_rates'))
    )

    with op.batch_alter_table('hotel_rates', schema=None) as batch_op:
        batch_op.create_index('ix_hotel_rates_lookup', ['hotel_code', 'room_type', 'season_start'], unique=False)

    op.create_table('room_chart_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hotel_code', sa.String(length=20), nullable=False),
    sa.Column('room_type', sa.String(length=40), nullable=False),
    sa.Column('night', sa.Date(), nullable=False),
    sa.Column('rooms_left', sa.Integer(), nullable=False),
    sa.Column('stop_sell', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['hotel_code'], ['hotels.code'], name=op.f('fk_room_chart_days_hotel_code_hotels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_room_chart_days')),
    sa.UniqueConstraint('hotel_code', 'room_type', 'night', name=op.f('uq_room_chart_days_hotel_code_room_type_night'))
    )

    op.create_table('hotel_bookings',
    sa.Column('booking_no', sa.String(length=40), nullable=False),
    sa.Column('hotel_code', sa.String(length=20), nullable=False),
    sa.Column('room_type', sa.String(length=40), nullable=False),
    sa.Column('check_in', sa.Date(), nullable=False),
    sa.Column('check_out', sa.Date(), nullable=False),
    sa.Column('guests', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('company', sa.String(length=40), nullable=True),
    sa.Column('paid_amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('paid_currency', sa.String(length=3), nullable=False),
    sa.Column('paid_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('supply_cost_krw', sa.BigInteger(), nullable=True),
    sa.Column('fx_rate', sa.String(length=40), nullable=True),
    sa.Column('fx_rate_date', sa.Date(), nullable=True),
    sa.Column('confirmation_no', sa.String(length=80), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('flow_run_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hotel_code'], ['hotels.code'], name=op.f('fk_hotel_bookings_hotel_code_hotels')),
    sa.PrimaryKeyConstraint('booking_no', name=op.f('pk_hotel_bookings'))
    )

    with op.batch_alter_table('hotel_bookings', schema=None) as batch_op:
        batch_op.create_index('ix_hotel_bookings_status', ['status'], unique=False)

    op.create_table('virtual_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_no', sa.String(length=40), nullable=False),
    sa.Column('issuer_card_id', sa.String(length=80), nullable=False),
    sa.Column('idempotency_key', sa.String(length=120), nullable=False),
    sa.Column('pan_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('expiry_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('cvc_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('masked_pan', sa.String(length=40), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('max_transactions', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('charged_minor', sa.BigInteger(), nullable=True),
    sa.Column('charged_currency', sa.String(length=3), nullable=True),
    sa.Column('issued_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['booking_no'], ['hotel_bookings.booking_no'], name=op.f('fk_virtual_cards_booking_no_hotel_bookings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_virtual_cards')),
    sa.UniqueConstraint('booking_no', name=op.f('uq_virtual_cards_booking_no')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_virtual_cards_idempotency_key')),
    sa.UniqueConstraint('issuer_card_id', name=op.f('uq_virtual_cards_issuer_card_id'))
    )


def downgrade() -> None:
    op.drop_table('virtual_cards')
    op.drop_table('hotel_bookings')
    op.drop_table('room_chart_days')
    op.drop_table('hotel_rates')
    op.drop_table('hotels')
