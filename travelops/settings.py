"""Core settings from the environment (TRAVELOPS_*); each process keeps its own settings class."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class CoreSettings(BaseSettings):
    """Where state lives and which database to use."""

    model_config = SettingsConfigDict(env_prefix="TRAVELOPS_", extra="ignore")

    home: Path = Field(
        default=PROJECT_ROOT / ".travelops",
        description="Project-local state: SQLite file, Prefect home, sandbox mailboxes, exports.",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file under `home`."
    )
    card_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s) for card data, comma-separated, newest first. "
        "When unset, the Prefect Secret block named by `card_key_block` is used.",
    )
    card_key_block: str = "travelops-card-key"
    block_document: str = Field(
        default="default", description="Name of the block documents flows load."
    )
    timezone: str = "Asia/Seoul"
    suspension_observer: bool = Field(
        default=False,
        description="Keep Prefect's per-run watcher for a suspension requested from outside the "
        "run (a websocket subscription, a thread and a poll for every served run). travelops' runs "
        "suspend themselves and nothing suspends them from outside, so the fork server leaves it "
        "out unless this is on.",
    )

    resume_concurrency: int = Field(
        default=1,
        ge=1,
        description="How many suspended runs a watcher pass resumes at once over its API client. "
        "One for a Prefect server on SQLite (concurrent writes there wait on its write lock, "
        "time out and are retried: 50 bookings ran at 10/min with 16 at once, 27/min one at a "
        "time); 16 for a server on PostgreSQL (500 bookings: reply → card p95 49 s with 16, 132 s "
        "with one). The local stack sets it from its server's database.",
    )
    new_work_limit: int | None = Field(
        default=None,
        ge=1,
        description="Most runs of new work (a new booking, a new order) that `travelops serve` "
        "runs at once; the rest of its slots stay for the scheduled passes and the runs resumed "
        "after a wait. Default: half of its slots.",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'travelops.db'}"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    @property
    def exports_dir(self) -> Path:
        return self.home / "exports"


@lru_cache(maxsize=1)
def core_settings() -> CoreSettings:
    return CoreSettings()
