"""Settings of the group-booking process (TRAVELOPS_GROUP_*): durations tests shorten, ports."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from travelops.settings import PROJECT_ROOT


class GroupSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRAVELOPS_GROUP_", extra="ignore")

    sla_seconds: float = Field(
        default=24 * 3600, description="Deposit paid → confirm or refund (24 h; seconds in tests)."
    )
    reminder_points: list[int] = Field(default=[50, 90], description="Ops reminders, % of SLA.")
    balance_days_before: int = Field(default=14, description="Balance due N days before departure.")
    data_dir: Path = Field(default=PROJECT_ROOT / "data", description="group_*.json live here.")
    intake_host: str = "127.0.0.1"
    intake_port: int = Field(default=8745, description="Port of `travelops group intake`.")
    intake_url: str | None = Field(
        default=None, description="Where the intake API is reached (webhooks); default host:port."
    )
    webhook_secret: SecretStr = Field(
        default=SecretStr("group-pg-sandbox-webhook-secret"),
        description="HMAC key the payment gateway signs webhooks with.",
    )
    pg_block: str = Field(default="group-pg", description="PaymentGateway block document.")
    messenger_block: str = Field(default="group-kakao", description="KakaoMessenger document.")
    ops_email: str = "ops@travelops.example.com"
    deployment: str = "confirm-group-booking/confirm-group-booking"
    sla_deployment: str = "enforce-group-sla/enforce-group-sla"

    @property
    def resolved_intake_url(self) -> str:
        return self.intake_url or f"http://{self.intake_host}:{self.intake_port}"


@lru_cache(maxsize=1)
def group_settings() -> GroupSettings:
    return GroupSettings()
