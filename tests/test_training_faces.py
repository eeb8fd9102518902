"""The training-faces folder: saving only what the classifier saw, listing, deleting,
and reporting a folder training cannot use."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emotion_core.live import LiveSession
from emotion_core.media import PhotoAnalyser
from emotion_core.preprocessing import to_model_input
from emotion_core.settings import AnalysisSettings
from emotion_core.training_faces import (
    TrainingDataError,
    check_enough,
    check_folder,
    count_faces,
    delete_all,
    delete_face,
    list_faces,
    save_face,
)
from emotion_core.video import AnnotatedWriter, read_frame_at


class RecordingClassifier:
    """The real classifier, keeping a copy of every batch it is given."""

    def __init__(self, classifier) -> None:
        self.classifier, self.batches = classifier, []

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.batches.append(batch.copy())
        return self.classifier.predict(batch)


def grey_face(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (48, 48), dtype=np.uint8)


def test_saving_a_face_writes_exactly_one_48x48_grey_file_in_its_emotion_folder(tmp_path):
    face = grey_face()
    path = save_face(tmp_path, face, "Happy")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [path] and path.parent == tmp_path / "happy"
    stored = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert stored.shape == (48, 48) and stored.dtype == np.uint8  # one grey channel
    assert np.array_equal(stored, face)  # lossless
    assert count_faces(tmp_path) == {**dict.fromkeys(count_faces(tmp_path), 0), "happy": 1}


def test_saving_refuses_anything_but_a_48x48_grey_face_or_a_known_emotion(tmp_path):
    with pytest.raises(ValueError, match="48x48"):
        save_face(tmp_path, np.zeros((48, 48, 3), np.uint8), "happy")
    with pytest.raises(ValueError, match="unknown emotion"):
        save_face(tmp_path, grey_face(), "bored")
    assert not list(tmp_path.rglob("*.png"))


def test_deleting_one_face_removes_it_and_delete_all_removes_the_rest(tmp_path):
    keep = save_face(tmp_path, grey_face(1), "sad")
    gone = save_face(tmp_path, grey_face(2), "sad")
    save_face(tmp_path, grey_face(3), "angry")
    (tmp_path / "notes.txt").write_text("mine")
    delete_face(tmp_path, gone)
    assert not gone.exists() and keep.exists()
    assert [f.path for f in list_faces(tmp_path, "sad")] == [keep]
    with pytest.raises(ValueError, match="not a face"):
        delete_face(tmp_path, tmp_path / "notes.txt")
    assert delete_all(tmp_path) == 2
    assert sum(count_faces(tmp_path).values()) == 0 and (tmp_path / "notes.txt").exists()


def test_a_saved_photo_face_is_exactly_what_the_classifier_received(
    classifier, astronaut_bgr, tmp_path
):
    recording = RecordingClassifier(classifier)
    with PhotoAnalyser(recording, AnalysisSettings()) as analyser:
        photo = analyser.analyse("astronaut.png", astronaut_bgr)
    [face] = photo.result.faces
    path = save_face(tmp_path, face.face48, "happy")
    saved = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    [batch] = recording.batches
    assert np.array_equal(to_model_input(saved), batch[:1])


def test_the_live_page_saves_the_face_in_view_as_the_classifier_saw_it(
    classifier, store, astronaut_frame, tmp_path
):
    recording = RecordingClassifier(classifier)
    live = LiveSession(recording, store)
    live.update_settings(AnalysisSettings(mirror=False))
    live.set_recording(False)
    live.process(astronaut_frame, 0.0)
    [(face_id, _, _)] = live.snapshot().faces
    crop = live.face_crop(face_id)
    assert live.face_crop(face_id + 99) is None
    path = save_face(tmp_path, crop, "happy")
    assert np.array_equal(to_model_input(cv2.imread(str(path), 0)), recording.batches[-1][:1])
    live.stop()
    assert live.face_crop(face_id) is None  # nothing is kept after the stream
    assert store.list_sessions() == []  # recording was off: the save stored no session


def test_a_face_can_be_picked_from_a_video_frame(classifier, astronaut_frame, tmp_path):
    path = tmp_path / "v.mp4"
    writer = AnnotatedWriter(path, 320, 240, 10)
    for i in range(20):  # black for the first second, then the astronaut
        frame = astronaut_frame if i >= 10 else np.zeros_like(astronaut_frame)
        writer.write(cv2.resize(frame, (320, 240)))
    writer.close()
    with PhotoAnalyser(classifier, AnalysisSettings()) as analyser:
        assert not analyser.analyse("start", read_frame_at(path, 0.0)).result.faces
        later = analyser.analyse("later", read_frame_at(path, 1.5)).result
    assert len(later.faces) == 1 and later.faces[0].face48.shape == (48, 48)


def test_a_corrupt_training_folder_is_reported_file_by_file(tmp_path):
    save_face(tmp_path, grey_face(), "fear")
    (tmp_path / "fear" / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "fear" / "notes.txt").write_text("hello")
    (tmp_path / "bored").mkdir()
    problems = {p.path.name: p.reason for p in check_folder(tmp_path)}
    assert problems == {
        "bored": "not an emotion folder (expected angry, disgust, fear, happy, neutral, sad, "
        "surprise)",
        "broken.png": "corrupt or unreadable image",
        "notes.txt": "not an image file",
    }
    assert check_folder(tmp_path / "fear" / "..") and count_faces(tmp_path)["fear"] == 2


def test_too_few_faces_per_emotion_is_a_clear_message():
    counts = {"happy": 12, "sad": 3, "angry": 0}
    with pytest.raises(TrainingDataError, match=r"sad has 3\. Save at least 10"):
        check_enough(counts)
    with pytest.raises(TrainingDataError, match="no saved faces"):
        check_enough({"happy": 0})
    check_enough({"happy": 10, "sad": 0})  # an emotion with no faces is simply not taught
