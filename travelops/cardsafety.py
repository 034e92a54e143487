"""Card data at rest and in logs: Fernet encryption with rotating keys, and a masking log filter."""

from __future__ import annotations

import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from domain.cards import mask_card_data
from domain.errors import TravelOpsError
from travelops.settings import core_settings


class CardKeyMissing(TravelOpsError):
    """No card-data key is configured (TRAVELOPS_CARD_KEY or the Prefect Secret block)."""


class CardVault:
    """Encrypts card fields for storage; decrypts them only for the message that delivers them."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise CardKeyMissing("no card-data key configured")
        try:
            self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])
        except ValueError as exc:
            raise CardKeyMissing(f"card-data key is not a valid Fernet key: {exc}") from None

    def encrypt(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            raise CardKeyMissing("card data cannot be decrypted with the configured keys") from None

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt with the newest key (after adding a key in front of the list)."""
        return self._fernet.rotate(token)

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()


def _configured_keys() -> list[str]:
    settings = core_settings()
    if settings.card_key is not None:
        raw = settings.card_key.get_secret_value()
    else:
        from prefect.blocks.system import Secret

        try:
            raw = str(Secret.load(settings.card_key_block, _sync=True).get())  # type: ignore[call-overload]
        except ValueError as exc:
            raise CardKeyMissing(
                f"set TRAVELOPS_CARD_KEY or create the Prefect Secret block "
                f"{settings.card_key_block!r} ({exc})"
            ) from None
    return [k for k in raw.split(",") if k.strip()]


@lru_cache(maxsize=1)
def card_vault() -> CardVault:
    return CardVault(_configured_keys())


class CardMaskFilter(logging.Filter):
    """Masks anything shaped like a card number or a labelled CVC before a handler emits it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        masked = mask_card_data(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_card_data(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_card_data(record.stack_info)
        return True


_FILTER = CardMaskFilter()


def install_card_mask() -> None:
    """Attach the mask to every handler configured now (Prefect's console and API handlers too).

    Handler-level, because logger-level filters do not see records propagated from children.
    The project's logging.yml (PREFECT_LOGGING_SETTINGS_PATH) declares the same filter, so
    processes that configure logging later are covered as well.
    """
    loggers = [
        logging.getLogger(),
        *(
            lg
            for lg in logging.Logger.manager.loggerDict.values()
            if isinstance(lg, logging.Logger)
        ),
    ]
    for lg in loggers:
        for handler in lg.handlers:
            if not any(isinstance(f, CardMaskFilter) for f in handler.filters):
                handler.addFilter(_FILTER)
