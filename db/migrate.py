"""Run Alembic migrations from code (`travelops db upgrade`, the demo, the tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from db.session import engine_for
from travelops.settings import PROJECT_ROOT, core_settings


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "db" / "migrations"))
    cfg.set_main_option(
        "sqlalchemy.url", (url or core_settings().resolved_database_url).replace("%", "%%")
    )
    return cfg


def upgrade(url: str | None = None) -> list[str]:
    """Bring the database to every branch head; returns the heads it is at afterwards."""
    cfg = alembic_config(url)
    command.upgrade(cfg, "heads")
    return current_heads(url)


def current_heads(url: str | None = None) -> list[str]:
    with engine_for(url or core_settings().resolved_database_url).connect() as conn:
        return sorted(MigrationContext.configure(conn).get_current_heads())


def expected_heads() -> list[str]:
    return sorted(ScriptDirectory.from_config(alembic_config()).get_heads())
