"""Where the test PostgreSQL server is: one helper for conftest.py and module-scoped
fixtures (a test module cannot import ``conftest``: tests/e2e has one of its own)."""

from __future__ import annotations

import os

import pytest


def pg_url_from_env() -> str | None:
    """``EMOTION_TEST_PG_URL``, or None; fails when ``EMOTION_REQUIRE_PG`` demands one."""
    url = os.environ.get("EMOTION_TEST_PG_URL")
    if not url and os.environ.get("EMOTION_REQUIRE_PG"):
        pytest.fail("EMOTION_REQUIRE_PG is set but EMOTION_TEST_PG_URL is not")
    return url
