"""The CLI contract: one clear line and a non-zero exit on errors, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "travelops", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["no-such-command"], 2, "No such command"),
        (["db", "upgrade", "--bogus"], 2, "No such option"),
        (["sandbox", "--port", "smtp"], 2, "--port='smtp': expected NAME=VALUE"),
    ],
)
def test_errors_are_one_line(args: list[str], code: int, message: str) -> None:
    result = _run(*args)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_db_upgrade_then_current(sqlite_url: str) -> None:
    assert _run("db", "upgrade").returncode == 0
    result = _run("db", "current")
    assert result.returncode == 0
    assert "pending" not in result.stdout
