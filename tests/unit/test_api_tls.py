"""Prefect's API clients share one verified TLS context per CA file (travelops.api_tls)."""

from __future__ import annotations

import importlib
import ssl

import certifi
import pytest
from prefect.settings import PREFECT_API_SSL_CERT_FILE

from travelops import api_tls


@pytest.fixture
def shared() -> object:
    import prefect.client.orchestration as orchestration

    api_tls.share_api_tls_contexts()
    yield orchestration
    _unpatch()


def _unpatch() -> None:
    for name in api_tls.PREFECT_TLS_MODULES:
        importlib.import_module(name).ssl = ssl  # type: ignore[attr-defined]


def _contexts() -> list[ssl.SSLContext]:
    """The TLS context httpx was given by each of three new Prefect API clients."""
    from prefect.client.orchestration import PrefectClient, SyncPrefectClient

    clients = [
        PrefectClient("http://127.0.0.1:1/api"),
        PrefectClient("http://127.0.0.1:1/api"),
        SyncPrefectClient("http://127.0.0.1:1/api"),
    ]
    return [c._client._transport._pool._ssl_context for c in clients]


def test_without_the_patch_each_client_builds_its_own() -> None:
    _unpatch()
    assert len({id(ctx) for ctx in _contexts()}) == 3


def test_prefect_clients_share_one_verified_context(shared: object) -> None:
    contexts = _contexts()
    assert all(ctx is contexts[0] for ctx in contexts)
    ca_file = PREFECT_API_SSL_CERT_FILE.value() or certifi.where()
    assert contexts[0] is api_tls.create_default_context(cafile=ca_file)
    assert contexts[0].verify_mode == ssl.CERT_REQUIRED
    assert contexts[0].check_hostname


def test_insecure_and_other_contexts_stay_fresh(shared: object) -> None:
    assert api_tls.create_default_context() is not api_tls.create_default_context()
    client_side = ssl.Purpose.CLIENT_AUTH
    assert api_tls.create_default_context(client_side, cafile=certifi.where()) is not (
        api_tls.create_default_context(cafile=certifi.where())
    )


def test_patch_is_applied_once_and_leaves_the_real_module_alone(shared: object) -> None:
    api_tls.share_api_tls_contexts()
    assert shared.ssl.SSLContext is ssl.SSLContext  # type: ignore[attr-defined]
    assert ssl.create_default_context is not api_tls.create_default_context
