"""Where the test PostgreSQL server is, an empty store URL on either backend, and an
older schema to migrate from: helpers for conftest.py, module-scoped fixtures and the
migration tests (a test module cannot import ``conftest``: tests/e2e has one of its
own)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def pg_url_from_env() -> str | None:
    """``EMOTION_TEST_PG_URL``, or None; fails when ``EMOTION_REQUIRE_PG`` demands one."""
    url = os.environ.get("EMOTION_TEST_PG_URL")
    if not url and os.environ.get("EMOTION_REQUIRE_PG"):
        pytest.fail("EMOTION_REQUIRE_PG is set but EMOTION_TEST_PG_URL is not")
    return url


def require_pg_url() -> str:
    """The test PostgreSQL server's URL; skips the test without one (fails when required)."""
    url = pg_url_from_env()
    if not url:
        pytest.skip("set EMOTION_TEST_PG_URL (postgresql+psycopg://...) for PostgreSQL tests")
    return url


def empty_store_url(backend: str, folder: Path) -> str:
    """A store URL with no tables yet: a new SQLite file in ``folder``, or the test
    PostgreSQL database emptied of this project's tables (``backend``: "sqlite" or
    "postgres")."""
    from emotion_core.store import SessionStore, metadata, sqlite_url

    if backend == "sqlite":
        return sqlite_url(folder / "sessions.db")
    url = require_pg_url()
    old = SessionStore(url)
    metadata.drop_all(old.engine)
    old.dispose()
    return url


@contextmanager
def reopened_at_schema(store, version: int, *ddl: str) -> Iterator:
    """``store`` taken back to schema ``version`` by the ``ddl`` statements, then opened
    again as an upgraded app opens it (which migrates it); disposed afterwards."""
    from emotion_core.store import SessionStore

    with store.engine.begin() as conn:
        for statement in ddl:
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(f"UPDATE schema_info SET version = {version}")
    store.dispose()
    migrated = SessionStore(store.url)
    try:
        yield migrated
    finally:
        migrated.dispose()
