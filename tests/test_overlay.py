"""The overlay draws exactly what the display settings ask for, in the emotion's colour."""

import numpy as np

from emotion_core.detection import FaceBox
from emotion_core.emotions import EMOTION_COLORS, LABELS, hex_to_bgr
from emotion_core.overlay import draw_overlay
from emotion_core.results import FaceResult, FrameResult
from emotion_core.settings import AnalysisSettings

NOTHING = dict(
    draw_box=False, draw_label=False, draw_probabilities=False, draw_face_id=False, draw_fps=False
)


def happy_frame() -> FrameResult:
    probs = np.array([0.02, 0.01, 0.02, 0.85, 0.05, 0.03, 0.02], np.float32)
    face = FaceResult(1, FaceBox(200, 150, 160, 160, 0.9), probs, probs, "happy", 0.85)
    return FrameResult(0, 0.0, 640, 480, (face,))


def draw(result: FrameResult, fps: float | None = None, **options) -> np.ndarray:
    return draw_overlay(np.zeros((480, 640, 3), np.uint8), result, AnalysisSettings(**options), fps)


def pixels_of(img: np.ndarray, color: str) -> int:
    return int(np.all(img == hex_to_bgr(color), axis=-1).sum())


def test_nothing_drawn_when_every_option_is_off():
    assert not draw(happy_frame(), fps=30.0, **NOTHING).any()


def test_box_is_drawn_in_the_emotions_colour_on_the_face():
    img = draw(happy_frame(), **{**NOTHING, "draw_box": True})
    assert pixels_of(img, EMOTION_COLORS["happy"]) > 4 * 150  # four sides
    assert not img[160:300, 210:350].any()  # inside the box stays untouched


def test_label_adds_a_coloured_tag_above_the_box():
    img = draw(happy_frame(), **{**NOTHING, "draw_label": True})
    assert pixels_of(img[:150], EMOTION_COLORS["happy"]) > 200
    assert not img[150:].any()


def test_probability_bars_use_each_emotions_colour():
    img = draw(happy_frame(), **{**NOTHING, "draw_probabilities": True})
    for name in LABELS:
        assert pixels_of(img, EMOTION_COLORS[name]) > 0, name
    right_of_box = img[:, 360:]
    assert pixels_of(right_of_box, EMOTION_COLORS["happy"]) > pixels_of(
        right_of_box, EMOTION_COLORS["angry"]
    )


def test_no_face_frame_says_so_and_fps_is_shown_on_request():
    empty = FrameResult(0, 0.0, 640, 480, ())
    plain = draw(empty, **NOTHING)
    assert plain[:40, :260].any() and not plain[40:].any()  # "No face detected", top left
    with_fps = draw(empty, fps=25.0, **{**NOTHING, "draw_fps": True})
    assert (with_fps != plain).any(axis=-1).sum() > 100  # a second line of text
