"""Where the test PostgreSQL server is, and an empty store URL on either backend: one
helper for conftest.py and module-scoped fixtures (a test module cannot import
``conftest``: tests/e2e has one of its own)."""

from __future__ import annotations

import os
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
