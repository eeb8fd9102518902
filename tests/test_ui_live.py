"""The Live page's sidebar and status panel under Streamlit's AppTest.

AppTest cannot run the WebRTC component (it needs a real server runtime), so the
streaming path itself is covered by tests/e2e/test_live_browser.py.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from streamlit.runtime.media_file_storage import MediaFileStorageError
from streamlit.testing.v1 import AppTest

from emotion_core.live import LiveSession
from emotion_core.overload import OverloadPolicy
from emotion_core.settings import AnalysisSettings
from emotion_core.store import SessionStore, sqlite_url

TIMEOUT = 60


def sidebar_app() -> None:
    import streamlit as st

    from ui.sidebar import settings_sidebar

    st.session_state["settings"] = settings_sidebar()


def panel_app() -> None:
    import streamlit as st

    from ui.live_panel import render_live_panel

    render_live_panel(st.session_state["live"].snapshot())


def test_sidebar_defaults_are_the_settings_defaults():
    at = AppTest.from_function(sidebar_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.session_state["settings"] == AnalysisSettings()


def test_sidebar_changes_reach_the_settings_object():
    at = AppTest.from_function(sidebar_app, default_timeout=TIMEOUT).run()
    at.slider(key="set_smoothing").set_value(0.9)
    at.slider(key="set_uncertain").set_value(0.7)
    at.toggle(key="set_low_light").set_value(True)
    at.radio(key="set_detector_range").set_value("full")
    at.checkbox(key="set_draw_probs").check()
    at.slider(key="set_every_n").set_value(3)
    assert at.toggle(key="set_mirror_avg_live").value is False  # live: off by default
    at.toggle(key="set_mirror_avg_live").set_value(True)
    at.run()
    s = at.session_state["settings"]
    assert (s.smoothing, s.uncertain_threshold, s.low_light) == (0.9, 0.7, True)
    assert s.mirror_averaging
    assert (s.detector_range, s.draw_probabilities, s.analyse_every_n) == ("full", True, 3)


def test_live_panel_shows_each_face_and_counters(classifier, tmp_path, astronaut_frame):
    live = LiveSession(classifier, SessionStore(sqlite_url(tmp_path / "s.db")))
    live.update_settings(AnalysisSettings(mirror=False))
    for i in range(5):
        live.process(astronaut_frame, i / 15)
    at = AppTest.from_function(panel_app, default_timeout=TIMEOUT)
    at.session_state["live"] = live
    at.run()
    assert not at.exception
    label = live.snapshot().faces[0][1]
    assert any("Face #1" in m.value and label in m.value for m in at.markdown)
    assert at.metric[0].value == "5"
    live.stop()
    at.run()
    assert "recorded 5 frames" in at.info[0].value


def test_live_panel_says_when_the_server_is_busy(classifier, tmp_path, astronaut_frame):
    policy = OverloadPolicy(warmup_s=0.1)
    live = LiveSession(classifier, SessionStore(sqlite_url(tmp_path / "s.db")), overload=policy)
    live.update_settings(AnalysisSettings(mirror=False))
    for i in range(300):  # a 1000 fps camera: no server analyses half its frames
        live.process(astronaut_frame, i * 0.001)
    n = live.snapshot().busy_every_n
    assert n > 1
    at = AppTest.from_function(panel_app, default_timeout=TIMEOUT)
    at.session_state["live"] = live
    at.run()
    assert not at.exception
    assert f"Server busy: analysing 1 in {n} frames" in at.warning[0].value
    live.stop()


def test_live_panel_says_when_no_face_is_in_view(classifier, tmp_path, astronaut_frame):
    live = LiveSession(classifier, SessionStore(sqlite_url(tmp_path / "s.db")))
    live.process(astronaut_frame * 0, 0.0)
    at = AppTest.from_function(panel_app, default_timeout=TIMEOUT)
    at.session_state["live"] = live
    at.run()
    assert not at.exception
    assert any("No face in view" in m.value for m in at.markdown)
    live.stop()


def controls_app() -> None:
    import streamlit as st
    from streamlit import runtime

    from ui.live_controls import live_controls, record_switch, recording_status, snapshot_button
    from ui.live_panel import render_live_panel

    # AppTest's runtime exists only during a run: keep its file manager, which serves
    # the download button's click, for the test to call as the browser would
    st.session_state["media_files"] = runtime.get_instance().media_file_mgr
    live = st.session_state["live"]
    on = record_switch(live)
    snap = live.snapshot()
    snapshot_button(live, snap.streaming)
    recording_status(snap, on)
    live_controls(live, snap)
    render_live_panel(snap, live.timeline() if snap.streaming else None)


def _streaming(classifier, store, frame, n: int = 5) -> LiveSession:
    live = LiveSession(classifier, store)
    live.update_settings(AnalysisSettings(mirror=False))
    for i in range(n):
        live.process(frame, i / 15)
    return live


def _controls(live: LiveSession) -> AppTest:
    at = AppTest.from_function(controls_app, default_timeout=TIMEOUT)
    at.session_state["live"] = live
    return at.run()


def test_pause_and_resume_buttons_switch_the_stream_state(classifier, tmp_path, astronaut_frame):
    live = _streaming(classifier, SessionStore(sqlite_url(tmp_path / "s.db")), astronaut_frame)
    at = _controls(live)
    assert not at.exception
    assert any("Recording to session" in s.value for s in at.success)
    at.button(key="live_pause").click().run()
    assert live.snapshot().paused and "Paused" in at.warning[0].value
    assert not [b for b in at.button if b.key == "live_pause"]
    at.button(key="live_resume").click().run()
    assert not live.snapshot().paused and not at.warning
    live.stop()


def test_mark_moment_stores_the_note_and_clears_it(classifier, tmp_path, astronaut_frame):
    store = SessionStore(sqlite_url(tmp_path / "s.db"))
    live = _streaming(classifier, store, astronaut_frame)
    at = _controls(live)
    at.text_input(key="live_marker_note").input("question 3").run()
    at.button(key="live_mark").click().run()
    assert not at.exception
    assert "Marked at" in at.success[-1].value and "with its note" in at.success[-1].value
    assert at.text_input(key="live_marker_note").value == ""
    sid = live.snapshot().session_id
    assert list(store.load_markers(sid)["note"]) == ["question 3"]
    at.button(key="live_mark").click().run()  # without a note: still a marker
    assert len(store.load_markers(sid)) == 2
    live.stop()


def test_record_switch_off_says_so_and_disables_markers(classifier, tmp_path, astronaut_frame):
    store = SessionStore(sqlite_url(tmp_path / "s.db"))
    live = LiveSession(classifier, store)
    at = _controls(live)
    assert any("will be recorded" in c.value for c in at.caption)  # before the stream
    at.toggle(key="live_record").set_value(False).run()
    assert any("will not be recorded" in c.value for c in at.caption)
    for i in range(3):
        live.process(astronaut_frame, i / 15)
    at.run()
    assert "Not recording" in at.info[0].value
    assert at.button(key="live_mark").disabled
    assert store.list_sessions() == []
    live.stop()


def test_snapshot_and_timeline_are_shown_while_streaming_only(
    classifier, tmp_path, astronaut_frame
):
    live = _streaming(classifier, SessionStore(sqlite_url(tmp_path / "s.db")), astronaut_frame)
    at = _controls(live)
    (snap,) = at.get("download_button")
    assert snap.proto.label == "Snapshot" and snap.proto.deferred_file_id  # encoded on click
    files = at.session_state["media_files"]  # what a click asks the server for
    url = files.execute_deferred(snap.proto.deferred_file_id)
    png = files._storage.get_file(url.rsplit("/", 1)[-1].split(".")[0]).content
    picture = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert png == live.snapshot_png() and picture.shape == astronaut_frame.shape
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # the live timeline and the label counts
    live.stop()
    with pytest.raises(MediaFileStorageError, match="nothing to take"):
        files.execute_deferred(snap.proto.deferred_file_id)  # clicked as the stream ended
    at.run()
    assert not at.get("download_button") and not at.button
    assert any("there is nothing to take" in c.value for c in at.caption)


def timeline_app() -> None:
    import numpy as np
    import pandas as pd

    from emotion_core.emotions import LABELS
    from emotion_core.live import LiveSnapshot
    from ui.live_panel import render_live_panel

    t = np.arange(-59.75, 0, 0.5)
    parts = []
    for face, share in ((1, 20), (2, 120)):  # face 2 is seen longer: the main face
        probs = np.full((len(t), len(LABELS)), np.nan)
        probs[-share:] = 1 / len(LABELS)
        part = pd.DataFrame(probs, columns=[f"p_{e}" for e in LABELS])
        parts.append(part.assign(t=t, face_id=face))
    snap = LiveSnapshot(streaming=True, faces=((1, "happy", 0.9), (2, "sad", 0.8)))
    render_live_panel(snap, pd.concat(parts, ignore_index=True))


def test_the_live_timeline_shows_the_main_face_and_a_face_selector():
    at = AppTest.from_function(timeline_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    picker = at.segmented_control(key="live_timeline_face_1-2")
    assert picker.value == "Main face"
    assert "Last minute, face 2" in at.get("plotly_chart")[0].proto.spec
    picker.set_value(1).run()
    assert "Last minute, face 1" in at.get("plotly_chart")[0].proto.spec
