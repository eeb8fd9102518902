import cv2
import numpy as np

from emotion_core.pipeline import FramePipeline
from emotion_core.preprocessing import to_model_input
from emotion_core.settings import AnalysisSettings


def tiled(image, n, size=(640, 480)):
    w, h = size
    canvas = np.full((h, w, 3), 40, np.uint8)
    tile = w // n
    face = cv2.resize(image, (tile, tile))
    for i in range(n):
        canvas[(h - tile) // 2 : (h - tile) // 2 + tile, i * tile : (i + 1) * tile] = face
    return canvas


def test_astronaut_has_one_face_with_probabilities(classifier, astronaut_frame):
    p = FramePipeline(classifier, AnalysisSettings(mirror=False))
    annotated, result = p.process(astronaut_frame, 0.0)
    assert len(result.faces) == 1
    face = result.faces[0]
    assert face.face_id == 1 and abs(face.raw.sum() - 1) < 1e-3
    assert 150 < face.box.x + face.box.w / 2 < 450
    assert not np.array_equal(annotated, astronaut_frame)  # the overlay was drawn


def test_two_faces_keep_stable_ids_over_a_sequence(classifier, astronaut_bgr):
    p = FramePipeline(classifier, AnalysisSettings(detector_range="full", mirror=False))
    seen = []
    for i in range(8):
        frame = np.roll(tiled(astronaut_bgr, 2), 2 * i, axis=1)
        _, result = p.process(frame, i / 15)
        seen.append(tuple(f.face_id for f in sorted(result.faces, key=lambda f: f.box.x)))
    assert sorted(seen[0]) == [1, 2]
    assert all(ids == seen[0] for ids in seen)  # left face keeps its ID, right face its own


def test_a_face_keeps_its_id_when_the_camera_resolution_drops(classifier, astronaut_frame):
    p = FramePipeline(classifier, AnalysisSettings(mirror=False))
    ids = []
    for i, size in enumerate([(640, 480), (640, 480), (320, 240), (320, 240), (640, 480)]):
        frame = cv2.resize(astronaut_frame, size, interpolation=cv2.INTER_AREA)
        _, result = p.process(frame, i / 15)
        ids.append([f.face_id for f in result.faces])
    assert ids == [[1]] * 5


def test_mirror_averaging_reads_each_face_and_its_mirror(classifier, astronaut_frame):
    single = FramePipeline(classifier, AnalysisSettings(mirror=False, smoothing=0.0))
    both = FramePipeline(classifier, AnalysisSettings(mirror=False, mirror_averaging=True))
    [face] = single.process(astronaut_frame, 0.0)[1].faces
    [averaged] = both.process(astronaut_frame, 0.0)[1].faces
    x = to_model_input(face.face48)
    expected = (classifier.predict(x) + classifier.predict(x[:, :, ::-1]))[0] / 2
    assert np.allclose(averaged.raw, expected, atol=1e-5)
    assert not np.allclose(averaged.raw, face.raw, atol=1e-3)
    assert averaged.label == face.label == "happy"


def test_no_face_frame_says_so(classifier):
    p = FramePipeline(classifier, AnalysisSettings(mirror=False))
    sky = np.full((480, 640, 3), (200, 150, 90), np.uint8)
    annotated, result = p.process(sky, 0.0)
    assert result.faces == ()
    assert not np.array_equal(annotated, sky)


def test_grey_and_odd_sized_frames_work(classifier, astronaut_bgr):
    p = FramePipeline(classifier, AnalysisSettings(mirror=False))
    grey = cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY)[:301, :333]
    annotated, result = p.process(grey, 0.0)
    assert annotated.shape == (301, 333, 3) and len(result.faces) == 1


def test_low_light_enhancement_recovers_a_dark_face(classifier, astronaut_frame):
    dark = (astronaut_frame * 0.12).astype(np.uint8)
    plain = FramePipeline(classifier, AnalysisSettings(mirror=False, min_detection_confidence=0.6))
    lit = FramePipeline(
        classifier, AnalysisSettings(mirror=False, min_detection_confidence=0.6, low_light=True)
    )
    assert plain.process(dark, 0.0)[1].faces == ()  # too dark to find without help
    assert len(lit.process(dark, 0.0)[1].faces) == 1


def test_every_nth_frame_is_analysed(classifier, astronaut_frame):
    p = FramePipeline(classifier, AnalysisSettings(mirror=False, analyse_every_n=3))
    fresh = [p.process(astronaut_frame, i / 30)[1] is not None for i in range(6)]
    assert fresh == [True, False, False, True, False, False]
