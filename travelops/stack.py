"""The local stack behind `make demo`: Prefect server, sandbox and deployment server processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

from travelops.settings import PROJECT_ROOT

LOGGING_YML = PROJECT_ROOT / "travelops" / "logging.yml"


class StackError(RuntimeError):
    """A child process of the local stack did not come up."""


def base_env(home: Path, api_url: str) -> dict[str, str]:
    """Environment shared by the demo process and every child it starts."""
    return {
        "TRAVELOPS_HOME": str(home),
        "TRAVELOPS_PROJECT_DIR": str(PROJECT_ROOT),
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_API_URL": api_url,
        "PREFECT_LOGGING_SETTINGS_PATH": str(LOGGING_YML),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_CLIENT_MAX_RETRIES": "10",  # a busy SQLite server answers 503 (retryable)
        "PREFECT_SERVER_API_KEEPALIVE_TIMEOUT": "30",
    }


class LocalStack:
    """Starts or reuses the Prefect server, sandbox and `travelops serve`; stops what it started."""

    def __init__(
        self,
        home: Path,
        *,
        prefect_port: int = 4200,
        sandbox_ports: dict[str, int] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.home = home
        self.prefect_port = prefect_port
        self.api_url = f"http://127.0.0.1:{prefect_port}/api"
        self.sandbox_ports = sandbox_ports or {}
        self.endpoints_file = home / "sandbox" / "endpoints.json"
        self.logs = home / "logs"
        self.env = {**os.environ, **base_env(home, self.api_url), **(extra_env or {})}
        if "TRAVELOPS_RESUME_CONCURRENCY" not in self.env:  # see CoreSettings.resume_concurrency
            server_db = self.env.get("PREFECT_SERVER_DATABASE_CONNECTION_URL", "")
            on_postgres = server_db.startswith("postgresql")
            self.env["TRAVELOPS_RESUME_CONCURRENCY"] = "16" if on_postgres else "1"
        self._children: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []

    # processes ------------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(  # noqa: S603 - our own commands, no shell
            args,
            env=self.env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._children.append((name, proc, log))
        return proc

    def _wait(
        self, name: str, proc: subprocess.Popen[bytes] | None, ready: Any, timeout: float
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if proc is not None and proc.poll() is not None:
                raise StackError(
                    f"{name} exited with {proc.returncode}; see {self.logs / (name + '.log')}"
                )
            time.sleep(0.3)
        raise StackError(
            f"{name} not ready after {timeout:.0f}s; see {self.logs / (name + '.log')}"
        )

    def prefect_healthy(self) -> bool:
        try:
            return httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start_prefect(self) -> None:
        if self.prefect_healthy():
            return
        proc = self._spawn(
            "prefect-server",
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.prefect_port),
            ],
        )
        self._wait("prefect-server", proc, self.prefect_healthy, 120)

    def start_sandbox(self) -> dict[str, Any]:
        self.endpoints_file.unlink(missing_ok=True)
        args = [
            sys.executable,
            "-m",
            "sandbox",
            "--root",
            str(self.home / "sandbox"),
            "--endpoints-file",
            str(self.endpoints_file),
        ]
        from sandbox.runner import registered_services

        # Any free port unless told otherwise: several stacks may run on one machine.
        ports = {svc.name: 0 for svc in registered_services()} | self.sandbox_ports
        for name, port in ports.items():
            args += ["--port", f"{name}={port}"]
        proc = self._spawn("sandbox", args)
        self._wait("sandbox", proc, self.endpoints_file.exists, 60)
        return dict(json.loads(self.endpoints_file.read_text()))

    def start_worker(
        self, expected: int, interval_overrides: dict[str, float] | None = None
    ) -> None:
        args = [sys.executable, "-m", "travelops", "serve"]
        for name, seconds in (interval_overrides or {}).items():
            args += ["--interval", f"{name}={seconds}"]
        proc = self._spawn("worker", args)

        def all_deployed() -> bool:
            try:
                r = httpx.post(f"{self.api_url}/deployments/count", json={}, timeout=5)
                return r.status_code == 200 and int(r.json()) >= expected
            except httpx.HTTPError:
                return False

        self._wait("worker", proc, all_deployed, 180)

    def stop(self) -> None:
        for _name, proc, _log in reversed(self._children):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc, log in reversed(self._children):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()
        self._children.clear()
