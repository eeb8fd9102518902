"""CSV reports (round trip, summary, command line), deleting, and concurrent writers."""

from __future__ import annotations

import io
import threading
import time

import pandas as pd
import pytest
from test_analytics import make_session

from emotion_core import report
from emotion_core.detection import FaceBox
from emotion_core.emotions import LABELS
from emotion_core.recording import SessionRecorder
from emotion_core.results import FaceResult, FrameResult
from emotion_core.store import SAMPLE_COLUMNS, SessionStore, sqlite_url

PLAIN_PARSE_RTOL = 1e-15


def test_detail_csv_parses_back_into_exactly_the_stored_rows(store):
    sid = make_session(store)
    data = report.report_csv(store, sid)
    parsed = report.read_detail_csv(io.BytesIO(data))
    stored = store.load_samples(sid)
    assert list(parsed.columns) == list(SAMPLE_COLUMNS)
    pd.testing.assert_frame_equal(parsed, stored, check_exact=True)
    exact = pd.read_csv(io.BytesIO(data), float_precision="round_trip")
    assert len(exact) == len(stored) == 17
    as_float = stored.astype({c: float for c in report.NULLABLE_INT_COLUMNS})  # NA -> NaN
    pd.testing.assert_frame_equal(exact, as_float, check_exact=True)
    # pandas' default (fast) float parser may differ in the last bit, never more.
    plain = pd.read_csv(io.BytesIO(data))
    pd.testing.assert_frame_equal(plain, as_float, rtol=PLAIN_PARSE_RTOL)


def test_summary_csv_is_one_row_with_the_headline_figures(store):
    sid = make_session(store)
    row = pd.read_csv(io.BytesIO(report.report_csv(store, sid, summary=True))).iloc[0]
    assert row["session_id"] == sid and row["frames"] == 12 and row["faces"] == 2
    assert row["dominant"] == "happy" and row["rows"] == 17
    assert row["face_frame_share"] == pytest.approx(10 / 12)
    assert row["share_happy"] == pytest.approx(6 / 15)
    assert row["band_high_share"] == pytest.approx(6 / 15)
    assert row["duration_s"] == pytest.approx(6.0)


def test_file_names_carry_the_session_start(store):
    sid = make_session(store)
    info = store.get_session(sid)
    name = f"emotion-session-{sid}-2026-11-23T10-55-00"
    assert report.report_filename(info) == f"{name}-detail.csv"
    assert report.report_filename(info, summary=True) == f"{name}-summary.csv"


def test_unknown_session_raises(store):
    with pytest.raises(report.UnknownSession):
        report.report_csv(store, 999)


@pytest.fixture
def sqlite_store(tmp_path):
    s = SessionStore(sqlite_url(tmp_path / "cli.db"))
    yield s
    s.dispose()


def test_cli_writes_the_same_bytes_as_the_page(sqlite_store, tmp_path):
    sid = make_session(sqlite_store)
    out = tmp_path / "detail.csv"
    assert report.main(["--session", str(sid), "--out", str(out), "--db", sqlite_store.url]) == 0
    assert out.read_bytes() == report.report_csv(sqlite_store, sid)
    args = ["--session", str(sid), "--out", str(tmp_path / "s.csv"), "--summary"]
    assert report.main([*args, "--db", sqlite_store.url]) == 0
    assert (tmp_path / "s.csv").read_bytes() == report.report_csv(sqlite_store, sid, True)


def test_cli_default_file_name(sqlite_store, tmp_path, monkeypatch):
    sid = make_session(sqlite_store)
    monkeypatch.chdir(tmp_path)
    assert report.main(["--session", str(sid), "--db", sqlite_store.url]) == 0
    assert (tmp_path / report.report_filename(sqlite_store.get_session(sid))).exists()


def test_cli_bad_session_id_is_a_clear_error_with_exit_2(sqlite_store, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert report.main(["--session", "4242", "--out", str(out), "--db", sqlite_store.url]) == 2
    err = capsys.readouterr().err
    assert "4242" in err and "Traceback" not in err
    assert not out.exists()


def test_delete_removes_the_session_and_its_rows_and_nothing_else(store):
    keep, gone = make_session(store), make_session(store)
    kept_rows = store.load_samples(keep)
    store.delete_session(gone)
    assert [s.id for s in store.list_sessions()] == [keep]
    assert store.count_samples(gone) == 0 and store.count_samples() == len(kept_rows)
    pd.testing.assert_frame_equal(store.load_samples(keep), kept_rows)
    with pytest.raises(report.UnknownSession):
        report.report_csv(store, gone)


def frame(index: int, face_id: int) -> FrameResult:
    probs = [1 / len(LABELS)] * len(LABELS)
    face = FaceResult(face_id, FaceBox(1, 2, 30, 40, 0.9), probs, probs, "neutral", 1 / 7)
    return FrameResult(index, index / 15, 640, 480, (face,))


FRAMES_PER_WRITER = 600


def test_two_concurrent_writers_lose_no_rows(store):
    """Two recorders, each fed by its own thread, on one store at the same time."""
    recorders = [SessionRecorder.start(store, "webcam", {}, flush_interval=0.05) for _ in "ab"]

    def produce(rec: SessionRecorder) -> None:
        for i in range(FRAMES_PER_WRITER):
            rec.record(frame(i, i % 3), time.time(), i / 15)
            if i % 50 == 0:
                time.sleep(0.01)  # let the two writer threads interleave

    threads = [threading.Thread(target=produce, args=(r,)) for r in recorders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for rec in recorders:
        rec.stop()
        assert rec.write_errors == 0
        rows = store.load_samples(rec.session_id)
        assert len(rows) == FRAMES_PER_WRITER
        assert list(rows["frame_index"]) == list(range(FRAMES_PER_WRITER))


def test_markers_csv_holds_every_marker_and_the_cli_writes_the_same_bytes(sqlite_store, tmp_path):
    sid = make_session(sqlite_store)
    sqlite_store.add_marker(sid, 2.5, 'ad starts, "big" <b>', t_wall=1002.5)
    sqlite_store.add_marker(sid, 0.5, "", t_wall=1000.5)
    data = report.report_csv(sqlite_store, sid, kind="markers")
    table = pd.read_csv(io.BytesIO(data), keep_default_na=False, float_precision="round_trip")
    assert list(table.columns) == ["session_id", "t_rel", "t_wall", "note"]
    assert list(table["t_rel"]) == [0.5, 2.5]
    assert list(table["note"]) == ["", 'ad starts, "big" <b>']
    info = sqlite_store.get_session(sid)
    assert report.report_filename(info, kind="markers").endswith("-markers.csv")
    out = tmp_path / "m.csv"
    args = ["--session", str(sid), "--markers", "--out", str(out), "--db", sqlite_store.url]
    assert report.main(args) == 0 and out.read_bytes() == data


def test_summary_counts_markers_pauses_and_names_the_model(store):
    sid = store.create_session("webcam", {}, model_file="m.tflite", model_hash="0" * 64)
    store.add_samples([{"session_id": sid, "frame_index": 0, "t_wall": 0.0, "t_rel": 0.0}])
    store.add_marker(sid, 0.0, "start", t_wall=0.0)
    store.add_gap(sid, 1.0, 4.0, "paused")
    store.add_gap(sid, 5.0, 5.5, "paused")
    store.add_gap(sid, 6.0, 8.0, "not recorded")
    row = pd.read_csv(io.BytesIO(report.report_csv(store, sid, summary=True))).iloc[0]
    assert row["markers"] == 1 and row["model_file"] == "m.tflite"
    assert row["paused_s"] == pytest.approx(3.5) and row["not_recorded_s"] == pytest.approx(2.0)
    with pytest.raises(ValueError):
        report.report_csv(store, sid, kind="everything")


def test_moments_csv_and_summary_carry_the_notable_moments(sqlite_store, tmp_path):
    from test_moments import session

    from emotion_core import moments

    sid = sqlite_store.create_session("webcam", {})
    rows = session({0: [(0, 10, "neutral"), (10, 20, "happy"), (20, 30, "neutral")]})
    rows = rows.assign(session_id=sid, t_wall=0.0)
    sqlite_store.add_samples(rows.astype(object).where(rows.notna(), None).to_dict("records"))
    data = report.report_csv(sqlite_store, sid, kind="moments")
    table = pd.read_csv(io.BytesIO(data))
    assert list(table.columns) == ["session_id", *moments.COLUMNS]
    assert (table["kind"] == "sustained").sum() == 1 and (table["kind"] == "change").sum() == 2
    row = pd.read_csv(io.BytesIO(report.report_csv(sqlite_store, sid, summary=True))).iloc[0]
    assert (row["moments_sustained"], row["moments_change"], row["moments_unusual"]) == (1, 2, 0)
    assert "happy held" in row["strongest_moment"]
    out = tmp_path / "moments.csv"
    args = ["--session", str(sid), "--moments", "--out", str(out), "--db", sqlite_store.url]
    assert report.main(args) == 0 and out.read_bytes() == data


def test_text_a_spreadsheet_would_run_is_quoted_in_every_csv(store):
    """CSV injection: names, notes and file names starting with = + - @ become text."""
    from emotion_core.compare import compare_csv
    from emotion_core.media import report_csv as media_csv

    sid = make_session(store)
    store.rename_session(sid, '=HYPERLINK("http://x.example","click")')
    store.add_marker(sid, 1.0, "+cmd|' /C calc'!A0", t_wall=1.0)
    store.add_marker(sid, 2.0, "@SUM(1+1)", t_wall=2.0)
    store.add_marker(sid, 3.0, "question 3 - plain", t_wall=3.0)
    summary = pd.read_csv(io.BytesIO(report.report_csv(store, sid, kind="summary")))
    assert summary["name"][0] == '\'=HYPERLINK("http://x.example","click")'
    notes = pd.read_csv(io.BytesIO(report.report_csv(store, sid, kind="markers")))["note"]
    assert list(notes) == ["'+cmd|' /C calc'!A0", "'@SUM(1+1)", "question 3 - plain"]
    table = pd.DataFrame({"item": ["-1+2", "session 1"], "valence": [-0.5, 0.25]})
    back = pd.read_csv(io.BytesIO(compare_csv(table)))
    assert list(back["item"]) == ["'-1+2", "session 1"]
    assert list(back["valence"]) == [-0.5, 0.25]  # numbers are never touched
    rows = pd.read_csv(io.BytesIO(media_csv([{"file": "=1+1.jpg", "frame_index": 0}])))
    assert rows["file"][0] == "'=1+1.jpg"
