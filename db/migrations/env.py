"""Alembic environment: the URL comes from TRAVELOPS_DATABASE_URL (or the caller's config)."""

from __future__ import annotations

from alembic import context

import db.models  # noqa: F401  (registers every table on the metadata)
from db.models.base import Base
from db.session import engine_for
from travelops.settings import core_settings

config = context.config
url = config.get_main_option("sqlalchemy.url") or core_settings().resolved_database_url


def run_migrations_offline() -> None:
    context.configure(
        url=url,
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with engine_for(url).connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
