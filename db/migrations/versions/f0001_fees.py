"""fee schedules, payment settings, fee lines, invoices

Revision ID: f0001_fees
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = 'f0001_fees'
down_revision: str | Sequence[str] | None = '0001_core'
branch_labels: str | Sequence[str] | None = ('fees',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('fee_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('document', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_schedules')),
    sa.UniqueConstraint('owner', 'version', name=op.f('uq_fee_schedules_owner_version'))
    )

    op.create_table('fee_payment_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company', sa.String(length=40), nullable=False),
    sa.Column('legal_entity', sa.String(length=80), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('central_card_name', sa.String(length=80), nullable=True),
    sa.Column('terms', sa.String(length=10), nullable=True),
    sa.Column('show_to_traveller', sa.Boolean(), nullable=False),
    sa.Column('invoice_email', sa.String(length=200), nullable=True),
    sa.Column('set_by_role', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_payment_settings')),
    sa.UniqueConstraint('company', 'legal_entity', name=op.f('uq_fee_payment_settings_company_legal_entity'))
    )

    op.create_table('fee_invoices',
    sa.Column('invoice_no', sa.String(length=40), nullable=False),
    sa.Column('company', sa.String(length=40), nullable=False),
    sa.Column('legal_entity', sa.String(length=80), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('waived_minor', sa.BigInteger(), nullable=False),
    sa.Column('terms', sa.String(length=10), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('sent_at', db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('invoice_no', name=op.f('pk_fee_invoices')),
    sa.UniqueConstraint('company', 'legal_entity', 'period', name=op.f('uq_fee_invoices_company_legal_entity_period'))
    )

    op.create_table('fee_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_key', sa.String(length=200), nullable=False),
    sa.Column('company', sa.String(length=40), nullable=False),
    sa.Column('legal_entity', sa.String(length=80), nullable=False),
    sa.Column('trip_key', sa.String(length=80), nullable=False),
    sa.Column('event_index', sa.Integer(), nullable=False),
    sa.Column('event_type', sa.String(length=30), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('rule', sa.String(length=120), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('payment_method', sa.String(length=20), nullable=False),
    sa.Column('waived', sa.Boolean(), nullable=False),
    sa.Column('waiver_code', sa.String(length=40), nullable=True),
    sa.Column('waiver_text', sa.Text(), nullable=True),
    sa.Column('waived_by', sa.String(length=120), nullable=True),
    sa.Column('invoice_no', sa.String(length=40), nullable=True),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('occurred_at', db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_no'], ['fee_invoices.invoice_no'], name=op.f('fk_fee_lines_invoice_no_fee_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_lines')),
    sa.UniqueConstraint('line_key', name=op.f('uq_fee_lines_line_key'))
    )

    with op.batch_alter_table('fee_lines', schema=None) as batch_op:
        batch_op.create_index('ix_fee_lines_invoice', ['payment_method', 'invoice_no', 'occurred_at'], unique=False)


def downgrade() -> None:
    op.drop_table('fee_lines')
    op.drop_table('fee_invoices')
    op.drop_table('fee_payment_settings')
    op.drop_table('fee_schedules')
