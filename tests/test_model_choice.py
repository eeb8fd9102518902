"""Model choice: which files are offered, the sidebar picker, and the session's record
of the model (file name and SHA-256) that produced its numbers."""

from __future__ import annotations

import hashlib
import shutil

from streamlit.testing.v1 import AppTest

from emotion_core.classifier import DEFAULT_MODEL_PATH
from emotion_core.live import LiveSession
from emotion_core.model_files import ModelRef, find_model_files
from emotion_core.settings import AnalysisSettings

TIMEOUT = 60


def test_model_files_are_the_tflite_files_of_each_folder_once(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for path in (a / "z.tflite", a / "m.tflite", b / "x.tflite", a / "notes.txt"):
        path.write_bytes(b"model")
    (b / "link.tflite").symlink_to(a / "m.tflite")
    found = find_model_files(a, None, tmp_path / "missing", b, a)
    assert [p.name for p in found] == ["m.tflite", "z.tflite", "x.tflite"]


def test_a_model_ref_is_the_file_name_and_its_sha256():
    ref = ModelRef.of(DEFAULT_MODEL_PATH)
    assert ref.name == DEFAULT_MODEL_PATH.name
    assert ref.sha256 == hashlib.sha256(DEFAULT_MODEL_PATH.read_bytes()).hexdigest()


def picker_app() -> None:
    import streamlit as st

    from ui.resources import get_classifier, selected_model
    from ui.sidebar import settings_sidebar

    settings_sidebar()
    st.session_state["model"] = str(selected_model())
    st.session_state["classifier_path"] = str(get_classifier().path)


def test_the_picker_offers_exactly_the_model_files_in_assets(monkeypatch, tmp_path):
    """assets/ may hold one model (no picker) or several (e.g. the int8 variant); an
    empty models folder (no fine-tuned versions) adds none."""
    monkeypatch.setenv("EMOTION_MODELS_DIR", str(tmp_path))
    in_assets = [p.name for p in find_model_files(DEFAULT_MODEL_PATH.parent)]
    at = AppTest.from_function(picker_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    pickers = [s for s in at.sidebar.selectbox if s.label == "Model"]
    if len(in_assets) == 1:
        assert not pickers
    else:
        assert pickers[0].options[0] == DEFAULT_MODEL_PATH.name  # the configured default
        assert sorted(pickers[0].options) == sorted(in_assets)
    assert at.session_state["model"] == str(DEFAULT_MODEL_PATH)


def test_the_sidebar_picks_a_model_from_the_models_folder(tmp_path, monkeypatch):
    tuned = tmp_path / "fine_tuned.tflite"
    shutil.copy(DEFAULT_MODEL_PATH, tuned)
    monkeypatch.setenv("EMOTION_MODELS_DIR", str(tmp_path))
    at = AppTest.from_function(picker_app, default_timeout=TIMEOUT).run()
    picker = at.sidebar.selectbox(key="set_model")
    assert picker.options[0] == DEFAULT_MODEL_PATH.name and picker.options[-1] == tuned.name
    assert at.session_state["model"] == str(DEFAULT_MODEL_PATH)
    picker.set_value(str(tuned)).run()
    assert not at.exception
    assert at.session_state["model"] == at.session_state["classifier_path"] == str(tuned)


def test_a_live_session_records_its_model(classifier, store, astronaut_frame):
    ref = ModelRef.of(DEFAULT_MODEL_PATH)
    live = LiveSession(classifier, store, ref)
    live.update_settings(AnalysisSettings(mirror=False))
    live.process(astronaut_frame, 0.0)
    live.stop()
    info = store.get_session(live.snapshot().session_id)
    assert (info.model_file, info.model_hash) == (ref.name, ref.sha256)


def test_photo_and_video_sessions_record_their_model(classifier, store, astronaut_bgr, tmp_path):
    from test_media import write_video

    from emotion_core.media import PhotoAnalyser, save_photo_session
    from emotion_core.video import FrameSampler, analyse_video

    ref = ModelRef.of(DEFAULT_MODEL_PATH)
    with PhotoAnalyser(classifier, AnalysisSettings()) as photos:
        photo = photos.analyse("p.png", astronaut_bgr, 0)
    sid = save_photo_session(store, [(photo.name, photo.result)], AnalysisSettings(), ref)
    assert store.get_session(sid).model_hash == ref.sha256
    video = write_video(tmp_path / "v.mp4")
    result = analyse_video(
        video, classifier, AnalysisSettings(), store=store,
        sampler=FrameSampler(per_second=1.0), model=ref,
    )  # fmt: skip
    assert store.get_session(result.session_id).model_file == DEFAULT_MODEL_PATH.name
