"""Saving faces from the pages and the Teach the model page, under Streamlit's AppTest
(real files in a temporary training folder, a real fine-tune process)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from emotion_core.finetune_jobs import FinetuneJobs
from emotion_core.live import LiveSession
from emotion_core.model_versions import list_versions
from emotion_core.settings import AnalysisSettings
from emotion_core.store import SessionStore, sqlite_url
from emotion_core.training_faces import count_faces, list_faces, save_face

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


@pytest.fixture
def folders(tmp_path, monkeypatch) -> dict[str, Path]:
    """Training, models and jobs folders of the app, all temporary."""
    paths = {n: tmp_path / n for n in ("faces", "models", "jobs")}
    monkeypatch.setenv("EMOTION_TRAINING_DIR", str(paths["faces"]))
    monkeypatch.setenv("EMOTION_MODELS_DIR", str(paths["models"]))
    monkeypatch.setenv("EMOTION_FINETUNE_DIR", str(paths["jobs"]))
    return paths


def faces(root: Path, emotion: str, n: int) -> None:
    rng = np.random.default_rng(n)
    for _ in range(n):
        save_face(root, rng.integers(0, 256, (48, 48), dtype=np.uint8), emotion)


def training_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    return at.switch_page("pages/training.py")


def test_a_photo_face_is_saved_with_the_emotion_the_user_picked(db, folders, astronaut_frame):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at = at.switch_page("pages/media.py").run()
    png = cv2.imencode(".png", astronaut_frame)[1].tobytes()
    at.file_uploader(key="photos").set_value([("astronaut.png", png, "image/png")]).run()
    assert not at.exception
    assert any("48x48 grey crop" in c.value for c in at.caption)  # the privacy notice
    at.selectbox(key="train_0_astronaut.png_emotion").set_value("sad").run()
    at.button(key="train_0_astronaut.png_save").click().run()
    assert not at.exception
    [saved] = list_faces(folders["faces"])
    assert saved.emotion.value == "sad" and saved.load().shape == (48, 48)
    assert any("Saved face #1 as sad" in s.value for s in at.success)
    assert db.list_sessions() == []  # saving a face stores nothing in the session store


def live_saver_app() -> None:
    import streamlit as st

    from ui.training_capture import live_face_saver

    live = st.session_state["live"]
    live_face_saver(live, live.snapshot())


def test_the_live_page_saves_the_face_in_view_only_on_click(
    classifier, folders, tmp_path, astronaut_frame
):
    live = LiveSession(classifier, SessionStore(sqlite_url(tmp_path / "s.db")))
    live.update_settings(AnalysisSettings(mirror=False))
    live.process(astronaut_frame, 0.0)
    at = AppTest.from_function(live_saver_app, default_timeout=TIMEOUT)
    at.session_state["live"] = live
    at.run()
    assert not at.exception and not list_faces(folders["faces"])  # nothing without a click
    at.selectbox(key="live_training_emotion").set_value("surprise").run()
    at.button(key="live_training_save").click().run()
    assert not at.exception
    [saved] = list_faces(folders["faces"])
    assert saved.emotion.value == "surprise"
    assert np.array_equal(saved.load(), live.face_crop(live.snapshot().faces[0][0]))
    live.stop()


def test_the_training_data_view_counts_reports_and_deletes(folders):
    faces(folders["faces"], "happy", 3)
    (folders["faces"] / "happy" / "broken.png").write_bytes(b"garbage")
    at = training_page().run()
    assert not at.exception
    counts = next(d.value for d in at.dataframe if "fine-tune" in d.value).set_index("emotion")
    assert counts.loc["happy", "faces"] == 4 and counts.loc["happy", "fine-tune"] == "needs 6 more"
    assert any("broken.png" in m.value and "corrupt" in m.value for m in at.markdown)
    assert any("Too few faces to fine-tune: happy has 4" in i.value for i in at.info)
    assert at.button(key="ft_start").disabled
    at.button(key="problem_0").click().run()  # delete the corrupt file
    assert not (folders["faces"] / "happy" / "broken.png").exists()
    first = list_faces(folders["faces"])[0]
    at.button(key=f"del_{first.path.name}").click().run()
    assert not first.path.exists() and count_faces(folders["faces"])["happy"] == 2
    at.checkbox(key="training_confirm_delete_all").check().run()
    at.button(key="training_delete_all").click().run()
    assert not at.exception and sum(count_faces(folders["faces"]).values()) == 0


def test_a_fine_tune_started_on_the_page_is_found_after_a_refresh_and_cancelled(folders):
    faces(folders["faces"], "happy", 10)
    faces(folders["faces"], "sad", 10)
    at = training_page().run()
    at.number_input(key="ft_epochs").set_value(30).run()
    at.button(key="ft_start").click().run()
    assert not at.exception
    jobs = FinetuneJobs(folders["jobs"])
    job = jobs.latest()
    try:
        assert job is not None and job.running
        pid = json.loads((folders["jobs"] / job.job_id / "job.json").read_text())["pid"]
        wanted = min(os.getpriority(os.PRIO_PROCESS, 0) + 1, 19)
        deadline = time.time() + 60  # the job lowers its priority once Python has started
        while os.getpriority(os.PRIO_PROCESS, pid) < wanted and time.time() < deadline:
            time.sleep(0.2)
        assert os.getpriority(os.PRIO_PROCESS, pid) >= wanted  # it yields the CPU
        refreshed = training_page().run()  # a new browser session: the job is found on disk
        assert not refreshed.exception
        assert not [b for b in refreshed.button if b.key == "ft_start"]  # no second start
        refreshed.button(key="ft_cancel").click().run()
        assert jobs.wait(job.job_id, 120).phase == "cancelled"
        refreshed.run()
        assert any("was cancelled" in i.value for i in refreshed.info)
        assert refreshed.button(key="ft_start")  # free to start again
    finally:
        jobs.cancel(job.job_id)
    assert list_versions(folders["models"]) == []


def test_the_page_lists_each_version_with_its_figures_and_deletes_it(folders):
    from test_model_page import fine_tune_section

    from emotion_core.classifier import DEFAULT_MODEL_PATH
    from emotion_core.model_card import MODEL_CARD_NAME, update_card

    version = folders["models"] / "ft-20261129-120000"
    version.mkdir(parents=True)
    (version / "emotion_cnn_int8.tflite").write_bytes(DEFAULT_MODEL_PATH.read_bytes())
    update_card(version / MODEL_CARD_NAME, fine_tune=fine_tune_section(0.6, 0.61))
    at = training_page().run()
    assert not at.exception
    [expander] = [e for e in at.expander if e.label.startswith("ft-20261129-120000")]
    table = expander.dataframe[0].value
    assert table["after (this version)"].tolist() == [0.8, 0.61]
    expander.button[0].click().run()
    assert not at.exception and not version.exists()
    assert list_versions(folders["models"]) == []
