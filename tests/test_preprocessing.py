import numpy as np
import pytest

from emotion_core.preprocessing import (
    FACE_SIZE,
    crop_face,
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
    crop = crop_face(frame, (80, 80, 20, 20), margin=0.5)
    assert crop.shape == (40, 40)


def test_crop_outside_the_frame_is_an_error():
    with pytest.raises(ValueError, match="outside"):
        crop_face(np.zeros((50, 50), np.uint8), (200, 200, 10, 10))


def test_non_image_array_is_rejected():
    with pytest.raises(ValueError):
        to_grey(np.zeros((4, 4, 5), np.uint8))
