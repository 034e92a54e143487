"""hotel bookings: the traveller's payment at the gateway (refunds go back through it)

Revision ID: h0003_hotel_payment_key
Revises: h0002_hotels_flow
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "h0003_hotel_payment_key"
down_revision: str | Sequence[str] | None = "h0002_hotels_flow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hotel_bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_key", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hotel_bookings", schema=None) as batch_op:
        batch_op.drop_column("payment_key")
