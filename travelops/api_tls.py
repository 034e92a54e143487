"""One verified TLS context per CA file for all the Prefect API clients of a process.

Prefect builds a new `ssl.create_default_context(cafile=…)` for every API client it opens, which
parses the whole CA bundle (~20 ms of CPU), even for an `http://` API. A served hotel run opens
about nine (engine, logs, events, result storage, suspension observer, version check…): measured
with py-spy during `travelops bench hotel-vcc`, 40 % of a run's CPU went there.

A verified context is only read once built (Prefect hands it to httpx as `verify=`), so one per CA
file is shared. Only the verified path is shared: the insecure path (`PREFECT_API_TLS_INSECURE_
SKIP_VERIFY`) calls `create_default_context()` without a CA file and then changes the context it
gets, so it still gets a fresh one each time. Only Prefect's own modules are affected, not httpx's
clients for the providers, which may change theirs (client certificates, ALPN).
"""

from __future__ import annotations

import functools
import importlib
import ssl
import types
from typing import Any

#: The Prefect modules that build an API client's TLS context with `ssl.create_default_context`.
PREFECT_TLS_MODULES: tuple[str, ...] = (
    "prefect.client.orchestration",
    "prefect._internal.version_checking",
    "prefect._internal.websockets",
)


@functools.lru_cache(maxsize=8)
def _verified_context(cafile: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def create_default_context(
    purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH,
    *,
    cafile: str | None = None,
    capath: str | None = None,
    cadata: str | bytes | None = None,
) -> ssl.SSLContext:
    """`ssl.create_default_context`, the same object again for the same CA file."""
    if cafile and capath is None and cadata is None and purpose == ssl.Purpose.SERVER_AUTH:
        return _verified_context(str(cafile))
    return ssl.create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)


class _SslWithSharedContexts(types.ModuleType):
    """The `ssl` module as Prefect's client modules see it: shared verified contexts."""

    create_default_context = staticmethod(create_default_context)

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)


_SSL = _SslWithSharedContexts("ssl")


def share_api_tls_contexts() -> None:
    """Make Prefect's API clients in this process share their verified TLS context.

    The context for Prefect's CA file is built now: in the fork server, every run forked from it
    inherits it built.
    """
    import certifi
    from prefect.settings import PREFECT_API_SSL_CERT_FILE

    for name in PREFECT_TLS_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "ssl", None) is ssl:
            module.ssl = _SSL  # type: ignore[attr-defined]
    _verified_context(PREFECT_API_SSL_CERT_FILE.value() or certifi.where())
