"""Posting to the append-only ledger: each entry_key is written once, ever; nothing is updated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models.core import LedgerEntry

_COLUMNS = (
    "entry_key",
    "book",
    "business_key",
    "business_date",
    "account",
    "counterparty",
    "kind",
    "amount_minor",
    "currency",
    "attributes",
    "memo",
    "posted_by",
    "posted_at",
)


def post_entries(session: Session, entries: Sequence[dict[str, Any]], chunk: int = 20_000) -> int:
    """Insert entries whose `entry_key` is new; existing keys are skipped. Returns rows inserted."""
    if not entries:
        return 0
    table = LedgerEntry.__table__
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=["entry_key"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["entry_key"])
    else:  # pragma: no cover - other databases are not supported targets
        stmt = insert(table)
    stmt = stmt.returning(table.c.id)  # counts what was really inserted, batch by batch
    conn = session.connection()
    inserted = 0
    for start in range(0, len(entries), chunk):
        batch = [{k: e.get(k) for k in _COLUMNS if k in e} for e in entries[start : start + chunk]]
        inserted += len(conn.execute(stmt, batch).all())
    return inserted
