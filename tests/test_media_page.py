"""The Analyze media page under Streamlit's AppTest, with real uploads and a temp store."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from streamlit.testing.v1 import AppTest

from emotion_core.video import AnnotatedWriter
from ui.resources import LAST_SESSION_KEY

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


def _page() -> AppTest:
    """The page inside the app's navigation, so its link to Session analytics resolves."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    return at.switch_page("pages/media.py")


def _png(frame_bgr: np.ndarray) -> bytes:
    return cv2.imencode(".png", frame_bgr)[1].tobytes()


def _mp4(path: Path, frame_bgr: np.ndarray, frames: int = 10) -> bytes:
    writer = AnnotatedWriter(path, 320, 240, 10)
    for _ in range(frames):
        writer.write(cv2.resize(frame_bgr, (320, 240)))
    writer.close()
    return path.read_bytes()


def test_the_page_renders_with_nothing_uploaded(db):
    at = AppTest.from_file(str(ROOT / "pages" / "media.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error
    assert [t.label for t in at.tabs] == ["Photos", "Video"]
    assert len(at.file_uploader) == 2


def test_photos_are_shown_with_a_face_table_and_bad_files_get_their_own_error(db, astronaut_frame):
    at = _page().run()
    at.file_uploader(key="photos").set_value(
        [("astronaut.png", _png(astronaut_frame), "image/png"), ("broken.jpg", b"", "image/jpeg")]
    )
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["broken.jpg: The file is empty (0 bytes)."]
    [table] = at.dataframe
    assert len(table.value) == 1 and {"label", "confidence", "p_happy"} <= set(table.value)
    next(b for b in at.button if b.label == "Save as session").click()
    at.run()
    assert not at.exception
    [session] = db.list_sessions()
    assert (session.source, session.source_name, session.frames) == ("image", "astronaut.png", 1)
    assert at.session_state[LAST_SESSION_KEY] == session.id
    assert session.settings["mirror_averaging"] is True  # the media default


def test_a_video_is_analysed_into_a_session(db, tmp_path, astronaut_frame):
    at = _page().run()
    at.file_uploader(key="video").set_value(
        ("clip.mp4", _mp4(tmp_path / "clip.mp4", astronaut_frame), "video/mp4")
    )
    at.radio(key="video_rate").set_value("Every frame")
    at.run()
    next(b for b in at.button if b.label == "Analyse video").click()
    at.run()
    assert not at.exception and not at.error
    [session] = db.list_sessions()
    assert (session.source, session.source_name, session.status) == (
        "video",
        "clip.mp4",
        "complete",
    )
    assert session.frames == 10 and at.session_state[LAST_SESSION_KEY] == session.id
    assert any("saved as session" in s.value for s in at.success)


def test_an_interrupted_video_run_is_reported_on_the_next_run(db):
    at = _page()
    at.session_state["media_video_job"] = {"name": "clip.mp4", "session_id": 7}
    at.run()
    assert any("cancelled; kept session #7 (incomplete)" in w.value for w in at.warning)
