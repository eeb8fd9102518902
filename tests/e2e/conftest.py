"""Browser-test fixtures; the shared machinery is in harness.py."""

from __future__ import annotations

import pytest
from harness import run_app

from emotion_core.store import sqlite_url


@pytest.fixture
def app_server(tmp_path):
    """The app on a free port with its own SQLite store: yields (url, database path)."""
    db = tmp_path / "e2e.db"
    with run_app(tmp_path, {"EMOTION_DB_URL": sqlite_url(db)}) as app:
        yield app.url, db
