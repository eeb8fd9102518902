"""Markers, gaps and model provenance in the store, and the migration of older stores."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pg_env import reopened_at_schema
from test_analytics import make_session

from emotion_core.store import MARKER_NOTE_MAX, SCHEMA_VERSION, SessionStore


def test_markers_are_plain_text_kept_through_rename_and_deleted_with_the_session(store):
    sid, other = make_session(store), make_session(store)
    store.add_marker(sid, 4.0, "ad starts", t_wall=1004.0)
    store.add_marker(sid, 1.5, "  question\t3\n<b>bold</b> ", t_wall=1001.5)
    store.add_marker(other, 2.0, "", t_wall=1002.0)  # a note is optional
    store.rename_session(sid, "Interview")
    marks = store.load_markers(sid)
    assert list(marks["t_rel"]) == [1.5, 4.0]  # time order
    assert list(marks["note"]) == ["question 3 <b>bold</b>", "ad starts"]  # text, one line
    store.delete_session(sid)
    assert store.load_markers(sid).empty
    assert list(store.load_markers(other)["note"]) == [""]


def test_an_over_long_note_is_refused_and_nothing_is_stored(store):
    sid = make_session(store)
    with pytest.raises(ValueError, match=str(MARKER_NOTE_MAX)):
        store.add_marker(sid, 1.0, "x" * (MARKER_NOTE_MAX + 1), t_wall=0.0)
    store.add_marker(sid, 1.0, "é" * MARKER_NOTE_MAX, t_wall=0.0)  # the limit itself is fine
    assert len(store.load_markers(sid)) == 1


def test_gaps_are_stored_in_time_order_and_validated(store):
    sid = make_session(store)
    store.add_gap(sid, 3.0, 4.5, "not recorded")
    store.add_gap(sid, 1.0, 2.0, "paused")
    gaps = store.load_gaps(sid)
    assert list(gaps["t_start"]) == [1.0, 3.0]
    assert list(gaps["reason"]) == ["paused", "not recorded"]
    with pytest.raises(ValueError):
        store.add_gap(sid, 5.0, 4.0, "paused")
    with pytest.raises(ValueError):
        store.add_gap(sid, 5.0, 6.0, "coffee")
    store.delete_session(sid)
    assert store.load_gaps(sid).empty


def test_a_session_records_which_model_produced_its_numbers(store):
    sid = store.create_session("webcam", {}, model_file="emotion_cnn.tflite", model_hash="ab" * 32)
    info = store.get_session(sid)
    assert (info.model_file, info.model_hash) == ("emotion_cnn.tflite", "ab" * 32)
    assert store.get_session(make_session(store)).model_file is None


# What schema 1 wrote: no markers/gaps tables, no model columns.
SCHEMA_1 = (
    "DROP TABLE markers",
    "DROP TABLE gaps",
    "ALTER TABLE sessions DROP COLUMN model_file",
    "ALTER TABLE sessions DROP COLUMN model_hash",
)


def test_a_schema_1_store_opens_migrated_and_keeps_its_sessions(store):
    sid = make_session(store)
    rows = store.load_samples(sid)
    with reopened_at_schema(store, 1, *SCHEMA_1) as migrated:
        assert migrated.schema_version() == SCHEMA_VERSION
        assert [s.id for s in migrated.list_sessions()] == [sid]
        assert migrated.get_session(sid).model_file is None
        assert len(migrated.load_samples(sid)) == len(rows)
        migrated.add_marker(sid, 1.0, "after the upgrade", t_wall=0.0)
        assert list(migrated.load_markers(sid)["note"]) == ["after the upgrade"]
        columns = {c["name"] for c in sa.inspect(migrated.engine).get_columns("sessions")}
        assert {"model_file", "model_hash"} <= columns
        with migrated.engine.connect() as conn:  # one version row, not one per opening
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM schema_info").scalar() == 1
    SessionStore(store.url).dispose()  # opening a current store again changes nothing
