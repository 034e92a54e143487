"""The layout is the architecture: domain/ stays pure, flows only orchestrate."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_DOMAIN = {
    "prefect",
    "sqlalchemy",
    "requests",
    "httpx",
    "pymupdf",
    "fitz",
    "pypdf",
    "alembic",
    "db",
    "tasks",
    "flows",
    "blocks",
    "sandbox",
    "smtplib",
    "imaplib",
    "socket",
    "subprocess",
    "travelops",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "domain").rglob("*.py")), ids=lambda p: p.name)
def test_domain_imports_no_io_library(path: Path) -> None:
    assert not (_imports(path) & FORBIDDEN_IN_DOMAIN)


@pytest.mark.parametrize("path", sorted((ROOT / "domain").rglob("*.py")), ids=lambda p: p.name)
def test_domain_uses_no_pandas_io(path: Path) -> None:
    text = path.read_text()
    for call in (
        "read_csv",
        "to_csv",
        "read_excel",
        "to_excel",
        "read_sql",
        "to_sql",
        "read_parquet",
    ):
        assert f".{call}(" not in text, f"{path.name} does I/O through pandas ({call})"


@pytest.mark.parametrize("path", sorted((ROOT / "flows").rglob("*.py")), ids=lambda p: p.name)
def test_flows_do_no_sql_or_http(path: Path) -> None:
    assert not (_imports(path) & {"sqlalchemy", "requests", "httpx", "smtplib", "imaplib"})
