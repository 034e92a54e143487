"""JSON over HTTP for provider APIs, with one mapping from transport outcomes to our error types.

- the request never left or only read (connect refused, 429, 5xx on a read) → `ProviderUnavailable`
- it may have acted (read timeout, dropped connection or 5xx on a write) → `AmbiguousOutcome`
- a definite refusal (other 4xx) → `ProviderRefused`, carrying the provider's code and message
"""

from __future__ import annotations

import functools
import os
import ssl
import threading
from typing import Any

import httpx

from domain.errors import AmbiguousOutcome, BusinessRuleError, ProviderUnavailable

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class ProviderRefused(BusinessRuleError):
    """The provider answered 4xx: the request is wrong or not allowed; retrying will not help."""

    def __init__(self, provider: str, status: int, code: str, message: str) -> None:
        self.provider = provider
        self.status = status
        self.code = code
        super().__init__(f"{provider} refused ({status} {code}): {message}")


_clients: dict[int, httpx.Client] = {}
_clients_lock = threading.Lock()


@functools.cache
def provider_tls_context() -> ssl.SSLContext:
    """The verified TLS context of provider calls, built from the CA bundle once per process —
    20–40 ms of CPU each time. The flow-run fork server builds it (`travelops.warm`), so a run
    forked from it does not."""
    return httpx.create_ssl_context()


def shared_client() -> httpx.Client:
    """This process's HTTP client for provider calls (thread-safe; one per process, so a forked
    run never shares a parent's connections). Per request, building a client (and its TLS
    context) was a third of a hotel run. No keep-alive: every request gets a fresh connection,
    so a server-closed idle socket can never make a write ambiguous."""
    pid = os.getpid()
    client = _clients.get(pid)
    if client is None:
        with _clients_lock:
            client = _clients.get(pid)
            if client is None:
                client = httpx.Client(
                    verify=provider_tls_context(),
                    limits=httpx.Limits(max_keepalive_connections=0),
                )
                _clients.clear()
                _clients[pid] = client
    return client


def call_json(
    provider: str,
    method: str,
    url: str,
    *,
    json: Any = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 15.0,
    idempotency_key: str | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
) -> Any:
    """One request; the parsed JSON body on 2xx, our error types otherwise (see module doc)."""
    method = method.upper()
    hdrs = dict(headers or {})
    if idempotency_key:
        hdrs["Idempotency-Key"] = idempotency_key
    effectful = method not in _SAFE_METHODS
    try:
        response = shared_client().request(
            method,
            url,
            json=json,
            params=params,
            headers=hdrs,
            auth=auth,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        )
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise ProviderUnavailable(f"{provider}: cannot reach {url}: {exc}") from exc
    except httpx.TransportError as exc:  # read/write timeouts, dropped connections
        if effectful:
            raise AmbiguousOutcome(f"{provider}: {method} {url} outcome unknown: {exc!r}") from exc
        raise ProviderUnavailable(f"{provider}: {method} {url}: {exc!r}") from exc
    status = response.status_code
    if status < 300:
        return response.json() if response.content else None
    body = _body(response)
    code = str(body.get("code") or body.get("error") or status)
    message = str(body.get("message") or body.get("detail") or response.text[:200])
    if status == 429:
        raise ProviderUnavailable(f"{provider}: {status} {code}: {message}")
    if status >= 500:
        if effectful:
            raise AmbiguousOutcome(f"{provider}: {status} {code} after {method} {url}: {message}")
        raise ProviderUnavailable(f"{provider}: {status} {code}: {message}")
    raise ProviderRefused(provider, status, code, message)


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {"detail": data}
