"""The Live page's sidebar and status panel under Streamlit's AppTest.

AppTest cannot run the WebRTC component (it needs a real server runtime), so the
streaming path itself is covered by tests/e2e/test_live_browser.py.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from emotion_core.live import LiveSession
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
    at.run()
    s = at.session_state["settings"]
    assert (s.smoothing, s.uncertain_threshold, s.low_light) == (0.9, 0.7, True)
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


def test_live_panel_says_when_no_face_is_in_view(classifier, tmp_path, astronaut_frame):
    live = LiveSession(classifier, SessionStore(sqlite_url(tmp_path / "s.db")))
    live.process(astronaut_frame * 0, 0.0)
    at = AppTest.from_function(panel_app, default_timeout=TIMEOUT)
    at.session_state["live"] = live
    at.run()
    assert not at.exception
    assert any("No face in view" in m.value for m in at.markdown)
    live.stop()
