import numpy as np
import pytest

from emotion_core.preprocessing import (
    CROP_SCALE,
    CROP_SHIFT_UP,
    FACE_SIZE,
    LEVEL_ABOVE_DEGREES,
    crop_face,
    eye_angle,
    face_to_grey48,
    preprocess_faces,
    to_bgr,
    to_grey,
)


@pytest.mark.parametrize(
    "image",
    [
        np.full((60, 40), 128, np.uint8),
        np.full((60, 40, 3), 128, np.uint8),
        np.full((60, 40, 4), 128, np.uint8),
        np.full((60, 40), 128 * 257, np.uint16),
        np.full((60, 40, 3), 128 / 255, np.float32),
    ],
)
def test_any_layout_becomes_48x48_grey_uint8(image):
    face = face_to_grey48(image)
    assert face.shape == (FACE_SIZE, FACE_SIZE) and face.dtype == np.uint8
    assert abs(int(face[10, 10]) - 128) <= 1
    assert to_bgr(image).shape == (60, 40, 3)


def test_model_input_is_scaled_to_unit_range():
    batch = preprocess_faces([np.zeros((10, 10), np.uint8), np.full((100, 90, 3), 255, np.uint8)])
    assert batch.shape == (2, 48, 48, 1) and batch.dtype == np.float32
    assert batch[0].max() == 0.0 and batch[1].min() == 1.0


def test_crop_at_the_border_is_padded_square():
    frame = np.arange(100 * 100, dtype=np.uint32).reshape(100, 100).astype(np.uint8)
    crop = crop_face(frame, (80, 80, 20, 20), scale=2.0, shift_up=0.0)
    assert crop.shape == (40, 40)
    assert crop[-1, -1] == frame[-1, -1]  # outside the frame: the edge, replicated


def test_crop_is_framed_like_fer2013():
    """A box of side 100 gives a crop of CROP_SCALE x 100 whose centre is CROP_SHIFT_UP
    box sides above the box centre: a dot at the box centre lands below the crop centre."""
    frame = np.zeros((400, 400), np.uint8)
    frame[199:202, 199:202] = 255  # the box centre
    crop = crop_face(frame, (150, 150, 100, 100))
    side = round(100 * CROP_SCALE)
    assert crop.shape == (side, side)
    ys, xs = np.nonzero(crop > 100)
    assert abs(xs.mean() - side / 2) <= 1.0
    assert abs(ys.mean() - (side / 2 + 100 * CROP_SHIFT_UP)) <= 1.0


def test_tilted_eyes_are_levelled():
    """Two dots on a line tilted by 20 degrees end up on one row of the crop."""
    frame = np.zeros((400, 400), np.uint8)
    angle = np.radians(20)
    left = (200 - 40 * np.cos(angle), 200 - 40 * np.sin(angle))
    right = (200 + 40 * np.cos(angle), 200 + 40 * np.sin(angle))
    for x, y in (left, right):
        frame[round(y) - 2 : round(y) + 3, round(x) - 2 : round(x) + 3] = 255
    assert eye_angle((right, left)) == pytest.approx(20.0, abs=1e-6)
    crop = crop_face(frame, (130, 130, 140, 140), eyes=(left, right), shift_up=0.0)
    ys, xs = np.nonzero(crop > 100)
    on_left = xs < crop.shape[1] / 2
    assert abs(ys[on_left].mean() - ys[~on_left].mean()) <= 1.0
    assert abs(xs[~on_left].mean() - xs[on_left].mean() - 80) <= 2.0  # distance kept


def test_a_slight_tilt_is_left_alone_and_a_strong_one_levelled():
    """Tilts within the training rotations are read as they are (LEVEL_ABOVE_DEGREES)."""
    frame = np.random.default_rng(3).integers(0, 256, (400, 400), dtype=np.uint8)
    box = (130, 130, 140, 140)

    def eyes(degrees):
        a = np.radians(degrees)
        return (200 - 40 * np.cos(a), 200 - 40 * np.sin(a)), (
            200 + 40 * np.cos(a),
            200 + 40 * np.sin(a),
        )

    upright = crop_face(frame, box)
    slight = LEVEL_ABOVE_DEGREES - 2
    assert np.array_equal(crop_face(frame, box, eyes(slight)), upright)
    assert np.array_equal(crop_face(frame, box, eyes(-slight)), upright)
    strong = LEVEL_ABOVE_DEGREES + 2
    assert not np.array_equal(crop_face(frame, box, eyes(strong)), upright)
    # level_above=0 levels every tilt (the sweep's comparison)
    assert not np.array_equal(crop_face(frame, box, eyes(slight), level_above=0), upright)


def test_crop_outside_the_frame_is_an_error():
    with pytest.raises(ValueError, match="outside"):
        crop_face(np.zeros((50, 50), np.uint8), (200, 200, 10, 10))


def test_non_image_array_is_rejected():
    with pytest.raises(ValueError):
        to_grey(np.zeros((4, 4, 5), np.uint8))
