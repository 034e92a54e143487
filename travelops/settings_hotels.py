"""Settings of the hotel VCC process (TRAVELOPS_HOTELS_*): documents, durations, tolerances."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HotelSettings(BaseSettings):
    """Durations are settings so tests and the demo run the real flow in seconds."""

    model_config = SettingsConfigDict(env_prefix="TRAVELOPS_HOTELS_", extra="ignore")

    day_seconds: float = Field(
        default=86400.0, description="Length of a reply-limit 'day' (seconds in tests)."
    )
    card_grace_days: int = Field(default=3, description="Days after the card's end date.")
    sale_tolerance_percent: str = Field(default="1", description="Sale vs supply cost, percent.")
    sale_tolerance_min_krw: int = Field(default=1000)
    mailbox: str = Field(default="hotel-desk", description="IMAP Mailbox document of replies.")
    issuer: str = Field(default="hotel-vcc", description="Card Issuer document.")
    chat: str = Field(default="traveller-chat", description="Traveller Chat document.")
    pg_block: str = Field(
        default="group-pg", description="PaymentGateway document: travellers' refunds."
    )
    ops_email: str = Field(default="ops@travelops.example.com")
    card_lease_seconds: float = Field(
        default=120.0, description="How long an unfinished card request blocks a second one."
    )
    quarantine_folder: str = "Quarantine"
    processed_folder: str = "Processed"
    hotels_file: str = Field(default="", description="Hotel list (default data/hotels.json).")

    @property
    def day(self) -> timedelta:
        return timedelta(seconds=self.day_seconds)


@lru_cache(maxsize=1)
def hotel_settings() -> HotelSettings:
    return HotelSettings()
