"""Exactly-once side effects: claim the business key, ask the provider on ambiguity, record.

Every task that calls an external system with an effect (send, issue, charge, refund, post) goes
through `perform_once`. The idempotency key is derived from the business key by the caller and is
also sent to the provider, so even two processes that both reach the provider create one effect.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from db import side_effects
from db.session import session_scope
from domain.errors import BusinessRuleError, InfrastructureError, ProviderUnavailable


@dataclass(frozen=True)
class Outcome:
    """What the provider did for a key: its reference and a JSON-safe summary (never card data)."""

    provider_ref: str | None
    result: dict[str, Any]
    replayed: bool = False  # True when the outcome came from the record, not a new call


class SideEffectRefused(BusinessRuleError):
    """The provider refused this key for good earlier; the refusal is on record."""


def perform_once(
    key: str,
    kind: str,
    call: Callable[[str], Outcome],
    lookup: Callable[[str], Outcome | None] | None = None,
    *,
    lease: timedelta = timedelta(seconds=120),
    wait_busy: float = 120.0,
    poll: float = 0.25,
) -> Outcome:
    """Run `call(key)` at most once per `key`, across retries, crashes and concurrent runs.

    - A recorded success is returned without calling (``replayed=True``).
    - If an earlier attempt may have reached the provider (crash, timeout, 5xx after sending),
      `lookup(key)` asks the provider first and records what it finds.
    - A concurrent holder of the key is waited for; after its lease the key is taken over.
    - `call` raising `BusinessRuleError` records a final refusal; `InfrastructureError` leaves the
      key pending with an expired lease so the next attempt looks it up before calling.
    """
    owner = uuid.uuid4().hex
    deadline = time.monotonic() + wait_busy
    while True:
        with session_scope() as s:
            c = side_effects.claim(s, key, kind, owner, lease)
        if c.status == "succeeded":
            return Outcome(c.provider_ref, c.result or {}, replayed=True)
        if c.status == "failed":
            raise SideEffectRefused(f"{kind} {key}: refused earlier: {c.error}")
        if c.status == "claimed":
            break
        if time.monotonic() > deadline:
            raise ProviderUnavailable(f"{kind} {key}: another attempt still holds it")
        time.sleep(poll)

    try:
        found = lookup(key) if (c.ambiguous and lookup is not None) else None
        outcome = found if found is not None else call(key)
    except BusinessRuleError as exc:
        with session_scope() as s:
            side_effects.fail(s, key, owner, f"{type(exc).__name__}: {exc}", None)
        raise
    except InfrastructureError as exc:
        with session_scope() as s:
            side_effects.release(s, key, owner, f"{type(exc).__name__}: {exc}")
        raise
    except BaseException as exc:
        # Unknown failure (bug, interrupt): the provider may or may not have acted.
        with session_scope() as s:
            side_effects.release(s, key, owner, f"{type(exc).__name__}: {exc}")
        raise
    with session_scope() as s:
        side_effects.complete(s, key, owner, outcome.provider_ref, outcome.result)
    return outcome
