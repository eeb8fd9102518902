"""Browser-test fixtures; the shared machinery is in harness.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import AppProcess, free_port, require_nginx, run_app

from emotion_core.store import sqlite_url
from scripts.topology import ProxySettings, run_nginx, streamlit_max_upload_mb


@pytest.fixture
def app_server(tmp_path):
    """The app on a free port with its own SQLite store: yields (url, database path)."""
    db = tmp_path / "e2e.db"
    with run_app(tmp_path, {"EMOTION_DB_URL": sqlite_url(db)}) as app:
        yield app.url, db


@dataclass
class Topology:
    proxy_url: str  # nginx, in front of both app processes
    apps: list[AppProcess]
    db_url: str  # the PostgreSQL database both write to
    access_log: Path  # nginx's, with the upstream each request went to


@pytest.fixture
def topology(tmp_path, pg_database):
    """The deployment's topology (scripts/topology.py): two app processes on one
    PostgreSQL database, nginx in front with deploy/nginx.conf.template."""
    require_nginx()
    env = {"EMOTION_DB_URL": pg_database}
    with run_app(tmp_path, env, name="app1") as one, run_app(tmp_path, env, name="app2") as two:
        settings = ProxySettings(
            app_servers=[app.url.removeprefix("http://") for app in (one, two)],
            listen=f"127.0.0.1:{free_port()}",
            max_upload_mb=streamlit_max_upload_mb(),
            access_log=str(tmp_path / "access.log"),
        )
        with run_nginx(tmp_path / "nginx", settings) as proxy:
            yield Topology(proxy, [one, two], pg_database, tmp_path / "access.log")
