"""Settings of the TMC-fees process (TRAVELOPS_FEES_*)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from travelops.settings import PROJECT_ROOT


class FeesSettings(BaseSettings):
    """Where the fee schedules come from and who issues the fee invoices."""

    model_config = SettingsConfigDict(env_prefix="TRAVELOPS_FEES_", extra="ignore")

    data_dir: Path = Field(
        default=PROJECT_ROOT / "data" / "fees",
        description="schedule.json (TMC schedule with company schedules) and payment_settings.json",
    )
    issuer_name: str = "트래블옵스 주식회사 (TravelOps Co., Ltd.)"
    issuer_registration: str = "사업자등록번호 123-45-67890"
    issuer_address: str = "서울특별시 중구 세종대로 110"
    issuer_email: str = "billing@travelops.example.com"
    invoice_prefix: str = "TF"


@lru_cache(maxsize=1)
def fees_settings() -> FeesSettings:
    return FeesSettings()
