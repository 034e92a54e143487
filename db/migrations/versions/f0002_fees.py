"""fee trips, fee events, invoice recipient, customer name

Revision ID: f0002_fees
Revises: f0001_fees
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = 'f0002_fees'
down_revision: str | Sequence[str] | None = 'f0001_fees'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('fee_trips',
    sa.Column('trip_key', sa.String(length=80), nullable=False),
    sa.Column('company', sa.String(length=40), nullable=False),
    sa.Column('legal_entity', sa.String(length=80), nullable=False),
    sa.Column('vip', sa.Boolean(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('booking_seen', sa.Boolean(), nullable=False),
    sa.Column('trip_charged_minor', sa.BigInteger(), nullable=False),
    sa.Column('highest_trip_minor', sa.BigInteger(), nullable=True),
    sa.Column('highest_trip_rule', sa.String(length=120), nullable=True),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('created_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('trip_key', name=op.f('pk_fee_trips'))
    )
    op.create_table('fee_events',
    sa.Column('event_key', sa.String(length=200), nullable=False),
    sa.Column('trip_key', sa.String(length=80), nullable=False),
    sa.Column('event_index', sa.Integer(), nullable=False),
    sa.Column('event_type', sa.String(length=30), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('recorded_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['trip_key'], ['fee_trips.trip_key'], name=op.f('fk_fee_events_trip_key_fee_trips')),
    sa.PrimaryKeyConstraint('event_key', name=op.f('pk_fee_events'))
    )
    with op.batch_alter_table('fee_events', schema=None) as batch_op:
        batch_op.create_index('ix_fee_events_trip', ['trip_key', 'event_index'], unique=False)

    with op.batch_alter_table('fee_invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('line_count', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('fee_payment_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_name', sa.String(length=200), nullable=True))

    with op.batch_alter_table('fee_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_key', sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_fee_lines_event_key'), ['event_key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('fee_payment_settings', schema=None) as batch_op:
        batch_op.drop_column('customer_name')

    with op.batch_alter_table('fee_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fee_lines_event_key'))
        batch_op.drop_column('event_key')

    with op.batch_alter_table('fee_invoices', schema=None) as batch_op:
        batch_op.drop_column('line_count')
        batch_op.drop_column('recipient')

    with op.batch_alter_table('fee_events', schema=None) as batch_op:
        batch_op.drop_index('ix_fee_events_trip')

    op.drop_table('fee_events')
    op.drop_table('fee_trips')
