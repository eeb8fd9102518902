"""Several app processes on one PostgreSQL database (the deployment's replicas)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from emotion_core.store import SCHEMA_VERSION, SessionStore, schema_info

pytestmark = pytest.mark.postgres


def test_replicas_opening_a_fresh_database_at_once_create_one_schema(pg_database):
    """Each replica creates the schema on its first page; on a fresh database they race.
    Every one must open cleanly and the schema be written once."""
    count = 6
    ready, errors, stores = threading.Barrier(count), [], []

    def open_store() -> None:
        ready.wait()
        try:
            stores.append(SessionStore(pg_database))
        except Exception as exc:  # collected: the assertion below shows them all
            errors.append(repr(exc))

    threads = [threading.Thread(target=open_store) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with stores[0].engine.connect() as conn:
        versions = conn.execute(sa.select(schema_info.c.version)).scalars().all()
    assert versions == [SCHEMA_VERSION]
    sid = stores[1].create_session("webcam", {})
    assert [s.id for s in stores[2].list_sessions()] == [sid]
    for store in stores:
        store.dispose()
