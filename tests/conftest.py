"""Shared fixtures: isolated state, migrated databases, the sandbox, one Prefect server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Isolate every piece of state before anything imports Prefect or reads settings.
_STATE = Path(tempfile.mkdtemp(prefix="travelops-tests-"))
ROOT = Path(__file__).resolve().parent.parent
os.environ.update(
    {
        "TRAVELOPS_HOME": str(_STATE),
        "TRAVELOPS_DATABASE_URL": f"sqlite:///{_STATE / 'travelops.db'}",
        "TRAVELOPS_RETRY_DELAY_SCALE": "0",
        "PREFECT_HOME": str(_STATE / "prefect"),
        "PREFECT_LOGGING_SETTINGS_PATH": str(ROOT / "travelops" / "logging.yml"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.3",
    }
)
if "TRAVELOPS_CARD_KEY" not in os.environ:
    from cryptography.fernet import Fernet

    os.environ["TRAVELOPS_CARD_KEY"] = Fernet.generate_key().decode()

# Each process keeps its fixtures in tests/fixtures/<process>.py.
pytest_plugins = [f"tests.fixtures.{name}" for name in ("hotels", "group", "fees", "coupons")]

POSTGRES_URL = os.environ.get("TRAVELOPS_TEST_POSTGRES_URL")


def use_database(url: str) -> None:
    """Point settings and cached engines at `url` (tests that switch databases)."""
    from db.session import reset_engines
    from travelops.settings import core_settings

    os.environ["TRAVELOPS_DATABASE_URL"] = url
    core_settings.cache_clear()
    reset_engines()


@pytest.fixture(scope="session")
def state_dir() -> Path:
    return _STATE


@pytest.fixture(scope="session")
def sqlite_url() -> str:
    """The session's SQLite database, migrated once."""
    from db.migrate import upgrade

    url = os.environ["TRAVELOPS_DATABASE_URL"]
    upgrade(url)
    return url


def _fresh_postgres(base_url: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"travelops_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    return url, name


def _drop_postgres(base_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (skipped unless TRAVELOPS_TEST_POSTGRES_URL is set)."""
    if not POSTGRES_URL:
        pytest.skip("TRAVELOPS_TEST_POSTGRES_URL not set")
    from db.migrate import upgrade

    url, name = _fresh_postgres(POSTGRES_URL)
    upgrade(url)
    yield url
    from db.session import reset_engines

    reset_engines()
    _drop_postgres(POSTGRES_URL, name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each database test runs on SQLite and, when configured, on PostgreSQL."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    previous = os.environ["TRAVELOPS_DATABASE_URL"]
    use_database(url)
    yield url
    use_database(previous)


def _wait_for(path: Path, proc: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout}s")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def sandbox(state_dir: Path) -> Iterator[dict[str, Any]]:
    """Every stand-in, in its own process, on free loopback ports."""
    root = state_dir / "sandbox"
    endpoints = root / "endpoints.json"
    log = (state_dir / "sandbox.log").open("wb")
    args = [
        sys.executable,
        "-m",
        "sandbox",
        "--root",
        str(root),
        "--endpoints-file",
        str(endpoints),
    ]
    from sandbox.runner import registered_services

    for svc in registered_services():
        args += ["--port", f"{svc.name}=0"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(endpoints, proc, "sandbox", 60)
        yield json.loads(endpoints.read_text())
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="session")
def prefect_api(sqlite_url: str, sandbox: dict[str, Any]) -> Iterator[str]:
    """One Prefect server for the session, with block types and sandbox documents registered."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        from prefect.settings import PREFECT_API_URL

        from travelops.blocks_setup import register_block_types, save_sandbox_documents

        register_block_types()
        save_sandbox_documents(sandbox)
        yield str(PREFECT_API_URL.value())


@pytest.fixture(scope="session")
def served(prefect_api: str, state_dir: Path) -> Iterator[str]:
    """`travelops serve` in a subprocess against the session's server (suspend/resume needs it)."""
    import httpx

    from travelops.serve import read_deployments

    env = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    log = (state_dir / "worker.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "travelops", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    expected = len(read_deployments())
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"travelops serve exited with {proc.returncode}")
            r = httpx.post(f"{prefect_api}/deployments/count", json={}, timeout=5)
            if r.status_code == 200 and int(r.json()) >= expected:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("deployments not served after 120s")
            time.sleep(0.5)
        yield prefect_api
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
