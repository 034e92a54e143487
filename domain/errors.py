"""One error hierarchy: business-rule errors are final, infrastructure errors are retryable."""

from __future__ import annotations


class TravelOpsError(Exception):
    """Base of every error travelops raises on purpose."""

    exit_code = 1


class BusinessRuleError(TravelOpsError):
    """A rule of the business refused the request; retrying will not help."""


class InvalidInput(BusinessRuleError):
    """A field of some input is missing or malformed; the message names the field and value."""

    exit_code = 2

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={value!r}: {reason}")


class CurrencyMismatch(BusinessRuleError):
    """Arithmetic or comparison between amounts of different currencies."""


class MissingRate(BusinessRuleError):
    """No FX rate is known for the pair on or before the date asked."""


class InfrastructureError(TravelOpsError):
    """An external system failed in a way that may succeed later."""


class ProviderUnavailable(InfrastructureError):
    """The provider did not answer, or answered 5xx: retry, asking it first on ambiguity."""


class AmbiguousOutcome(InfrastructureError):
    """The request may have reached the provider: its outcome must be looked up before retrying."""
