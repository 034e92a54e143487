"""hotel VCC flow: CC rule, booking wait/timing columns, hotel daily FX rates

Revision ID: h0002_hotels_flow
Revises: h0001_hotels
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = 'h0002_hotels_flow'
down_revision: str | Sequence[str] | None = 'h0001_hotels'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('hotels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cc_required', sa.Integer(), nullable=True))

    with op.batch_alter_table('hotel_bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('breakfast', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('waiting_for', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('sheet_sent_at', db.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reply_at', db.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('card_emailed_at', db.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))

    op.create_table('hotel_fx_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hotel_code', sa.String(length=20), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('base', sa.String(length=3), nullable=False),
    sa.Column('quote', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.String(length=40), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=True),
    sa.Column('received_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hotel_code'], ['hotels.code'], name=op.f('fk_hotel_fx_rates_hotel_code_hotels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hotel_fx_rates')),
    sa.UniqueConstraint('hotel_code', 'as_of', name=op.f('uq_hotel_fx_rates_hotel_code_as_of'))
    )


def downgrade() -> None:
    op.drop_table('hotel_fx_rates')
    with op.batch_alter_table('hotel_bookings', schema=None) as batch_op:
        for col in ('details', 'card_emailed_at', 'reply_at', 'sheet_sent_at', 'waiting_for', 'breakfast'):
            batch_op.drop_column(col)
    with op.batch_alter_table('hotels', schema=None) as batch_op:
        batch_op.drop_column('cc_required')
