import time
import types

import cv2
import numpy as np
import pytest

from emotion_core.emotions import LABELS
from emotion_core.live import LiveError, LiveSession
from emotion_core.live_timeline import BIN_S, WINDOW_S, main_face
from emotion_core.settings import AnalysisSettings

TOL = 1e-6  # stream clock arithmetic (100.0 + i / fps) - 100.0


def test_live_session_records_a_stream_and_applies_settings(classifier, store, astronaut_frame):
    live = LiveSession(classifier, store)
    live.update_settings(AnalysisSettings(mirror=False, draw_fps=True))
    for i in range(10):
        out = live.process(astronaut_frame, 100.0 + i / 15)
        assert out.shape == astronaut_frame.shape
    snap = live.snapshot()
    assert snap.streaming and snap.frames_analysed == 10 and len(snap.faces) == 1
    live.update_settings(AnalysisSettings(mirror=False, analyse_every_n=2))
    for i in range(10, 14):
        live.process(astronaut_frame, 100.0 + i / 15)
    live.stop()
    session = store.get_session(snap.session_id)
    assert session.status == "complete" and session.source == "webcam"
    rows = store.load_samples(snap.session_id)
    assert len(rows) == 12 and rows["face_id"].eq(1).all()
    assert rows["t_rel"].iloc[0] == 0.0 and abs(rows["t_rel"].iloc[-1] - 12 / 15) < 1e-6
    # the next START is a new session
    live.process(astronaut_frame, 500.0)
    assert live.snapshot().session_id != snap.session_id
    live.stop()


def test_a_broken_frame_is_counted_not_raised(classifier, store):
    live = LiveSession(classifier, store)
    bad = np.zeros((10, 10, 7), np.uint8)
    assert live.process(bad, 0.0) is bad
    assert live.errors == 1
    live.stop()


def _stream(live, frame, start: int, stop: int, fps: float = 15.0) -> list:
    return [live.process(frame, 100.0 + i / fps) for i in range(start, stop)]


def test_pause_keeps_the_video_flowing_records_nothing_and_leaves_a_gap(
    classifier, store, astronaut_frame
):
    live = LiveSession(classifier, store)
    live.update_settings(AnalysisSettings(mirror=False))
    _stream(live, astronaut_frame, 0, 5)
    assert live.pause() and not live.pause()  # a second pause does nothing
    paused = _stream(live, astronaut_frame, 5, 20)
    assert live.snapshot().paused and live.snapshot().streaming
    assert all(p.shape == astronaut_frame.shape for p in paused)  # the video still flows
    assert not np.array_equal(paused[-1], astronaut_frame)  # with the "paused" banner
    assert live.resume() and not live.resume()
    _stream(live, astronaut_frame, 20, 25)
    sid = live.snapshot().session_id
    live.stop()
    rows = store.load_samples(sid)
    assert sorted(rows["frame_index"]) == list(range(10))  # 5 before + 5 after, none paused
    assert rows["t_rel"].between(4 / 15 + TOL, 20 / 15 - TOL).sum() == 0
    gaps = store.load_gaps(sid)
    assert list(gaps["reason"]) == ["paused"]
    assert gaps["t_start"].iloc[0] == pytest.approx(4 / 15)
    assert gaps["t_end"].iloc[0] == pytest.approx(19 / 15)


def test_pausing_or_marking_a_stopped_stream_does_nothing(classifier, store):
    live = LiveSession(classifier, store)
    assert not live.pause() and not live.resume()
    assert live.snapshot_png() is None  # nothing to take
    with pytest.raises(LiveError, match="START"):
        live.mark("too early")
    assert store.list_sessions() == []


def test_recording_switch_off_analyses_without_writing(classifier, store, astronaut_frame):
    live = LiveSession(classifier, store)
    live.update_settings(AnalysisSettings(mirror=False))
    live.set_recording(False)
    _stream(live, astronaut_frame, 0, 5)
    snap = live.snapshot()
    assert snap.streaming and not snap.recording and snap.session_id is None
    assert len(snap.faces) == 1  # still analysed and shown
    assert store.list_sessions() == []  # privacy mode: nothing at all in the store
    with pytest.raises(LiveError, match="Recording is off"):
        live.mark()
    live.set_recording(True)  # switched on during the stream
    _stream(live, astronaut_frame, 5, 10)
    sid = live.snapshot().session_id
    assert live.snapshot().recording and sid is not None
    live.set_recording(False)
    _stream(live, astronaut_frame, 10, 15)
    live.set_recording(True)
    _stream(live, astronaut_frame, 15, 20)
    live.stop()
    rows = store.load_samples(sid)
    assert len(rows) == 10 and rows["t_rel"].iloc[0] == 0.0  # the session starts when on
    gap = store.load_gaps(sid).iloc[0]
    assert gap["reason"] == "not recorded"
    assert (gap["t_start"], gap["t_end"]) == pytest.approx((4 / 15, 9 / 15))


def test_markers_are_stored_at_the_current_moment(classifier, store, astronaut_frame):
    live = LiveSession(classifier, store)
    live.update_settings(AnalysisSettings(mirror=False))
    _stream(live, astronaut_frame, 0, 8)
    assert live.mark(" question 3 ") == pytest.approx(7 / 15)
    with pytest.raises(ValueError):
        live.mark("x" * 500)
    sid = live.snapshot().session_id
    _stream(live, astronaut_frame, 8, 9)
    assert live.snapshot().markers == 1
    live.stop()
    marks = store.load_markers(sid)
    assert list(marks["note"]) == ["question 3"]
    assert marks["t_rel"].iloc[0] == pytest.approx(7 / 15)


def test_the_same_mark_twice_within_a_second_is_stored_once(
    classifier, store, astronaut_frame, monkeypatch
):
    """A replayed click must not double a marker; a new note, or a second later, does."""
    clock = [100.0]
    fake_time = types.SimpleNamespace(time=time.time, monotonic=lambda: clock[0])
    monkeypatch.setattr("emotion_core.live.time", fake_time)  # this module's clock only
    live = LiveSession(classifier, store)
    live.update_settings(AnalysisSettings(mirror=False))
    _stream(live, astronaut_frame, 0, 5)
    first = live.mark("question 3")
    clock[0] += 0.3
    assert live.mark("question 3") == first  # the same click delivered twice
    live.mark("question 4")
    clock[0] += 1.5
    live.mark("question 4")  # pressed again later: a new marker
    sid = live.snapshot().session_id
    live.stop()
    assert list(store.load_markers(sid)["note"]) == ["question 3", "question 4", "question 4"]
    assert live.snapshot().markers == 3


def test_snapshot_png_is_the_last_annotated_frame_in_memory(
    classifier, store, astronaut_frame, tmp_path, monkeypatch
):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    live = LiveSession(classifier, store)
    live.update_settings(AnalysisSettings(mirror=False))
    out = _stream(live, astronaut_frame, 0, 3)[-1]
    png = live.snapshot_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (480, 640, 3) and np.array_equal(decoded, out)  # lossless
    assert not np.array_equal(decoded, astronaut_frame)  # the overlay is in it
    assert list(cwd.iterdir()) == []  # nothing written
    live.stop()
    assert live.snapshot_png() is None


def test_live_timeline_holds_the_last_minute_and_shows_a_pause_as_a_gap(
    classifier, store, astronaut_frame
):
    live = LiveSession(classifier, store)
    live.update_settings(AnalysisSettings(mirror=False))
    _stream(live, astronaut_frame, 0, 15, fps=5)  # 3 s
    live.pause()
    _stream(live, astronaut_frame, 15, 30, fps=5)  # 3 s paused
    live.resume()
    _stream(live, astronaut_frame, 30, 35, fps=5)
    table = live.timeline()
    assert set(table["face_id"]) == {1} and len(table) == WINDOW_S / BIN_S
    assert main_face(table) == 1
    seen = table.dropna()
    probs = seen[[f"p_{e}" for e in LABELS]].sum(axis=1)
    assert probs.to_numpy() == pytest.approx(1.0)
    # the paused seconds (-3.8 .. -1.0 s before now) hold no data
    paused = table[(table["t"] > -3.6) & (table["t"] < -1.2)]
    assert len(paused) and paused["p_happy"].isna().all()
    assert seen["t"].max() > -1.0 and seen["t"].min() < -4.0
    live.stop()
    assert live.timeline().empty


def test_a_closed_stream_keeps_its_owned_session_and_opens_no_other(
    classifier, store, astronaut_frame
):
    """What the Live page does when the user's sign-in expires mid-stream."""
    live = LiveSession(classifier, store, owner="alice@lab.test")
    _stream(live, astronaut_frame, 0, 6)
    sid = live.snapshot().session_id
    live.close()
    info = store.get_session(sid)
    assert info.status == "incomplete" and info.ended_at is not None
    assert info.owner == "alice@lab.test" and store.count_samples(sid) == 6
    late = _stream(live, astronaut_frame, 6, 9)  # frames the browser still sends
    assert all(out is astronaut_frame for out in late)  # passed through, not analysed
    live.stop()  # streamlit-webrtc's on_video_ended, after the page closed it
    assert [s.id for s in store.list_sessions()] == [sid] and store.count_samples(sid) == 6


def test_the_page_fps_is_frames_over_time_when_frames_come_unevenly(
    classifier, store, astronaut_frame
):
    """Frames alternately 10 ms and 90 ms apart: the rate is one over the mean gap. The
    mean of 1/gap (what the page once showed) would overstate it by about half."""
    live = LiveSession(classifier, store)
    live.update_settings(AnalysisSettings(mirror=False))
    arrivals = []
    for i in range(60):
        time.sleep(0.01 if i % 2 else 0.09)
        arrivals.append(time.monotonic())
        live.process(astronaut_frame, i / 20)
    gaps = np.diff(arrivals[-30:])
    assert live.snapshot().fps == pytest.approx(1 / gaps.mean(), rel=0.2)
    assert live.snapshot().fps < 0.8 * np.mean(1 / gaps)
    live.stop()
