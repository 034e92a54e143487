"""Sessions: SQLite (WAL, immediate transactions) by default; PostgreSQL for production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from travelops.settings import core_settings


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event open transactions (below) instead of pysqlite.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: two deferred transactions that both read then write
        # would otherwise fail with SQLITE_BUSY instead of waiting for each other. A read-only
        # unit of work (`read_scope`) does not write: it reads its WAL snapshot without waiting.
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


_ENGINES: dict[str, Engine] = {}
_READ_ONLY = "travelops_read_only"


def engine_for(url: str) -> Engine:
    """One engine per URL per process."""
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = _create(url)
    return engine


def _create(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def get_engine(url: str | None = None) -> Engine:
    return engine_for(url or core_settings().resolved_database_url)


@lru_cache(maxsize=16)
def _factory(url: str, read_only: bool = False) -> sessionmaker[Session]:
    engine = engine_for(url)
    bind = engine.execution_options(**{_READ_ONLY: True}) if read_only else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A unit of work: commits on success, rolls back on error."""
    session = _factory(url or core_settings().resolved_database_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_scope(url: str | None = None) -> Iterator[Session]:
    """A unit of work that only reads, and never commits. On SQLite it does not queue behind the
    writers for the write lock (WAL: it reads the last committed state)."""
    session = _factory(url or core_settings().resolved_database_url, read_only=True)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def reset_engines() -> None:
    """Dispose and forget cached engines (tests that switch TRAVELOPS_DATABASE_URL)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
    _factory.cache_clear()
