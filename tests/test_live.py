import numpy as np

from emotion_core.live import LiveSession
from emotion_core.settings import AnalysisSettings


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
