"""Matching live faces to blurred training images: the measure and the model layer."""

import cv2
import numpy as np
import pytest
import skimage.data

from emotion_core.sharpness import InferenceBlur, estimate_blur_sigma

SIGMA_TOLERANCE = 0.5  # px at 48x48
PIXEL_TOLERANCE = 2e-3  # kernel truncation differs slightly from OpenCV's


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    """Many different 48x48 grey crops of real photos shipped with scikit-image."""
    crops = []
    for img in (skimage.data.astronaut(), skimage.data.chelsea(), skimage.data.coffee()):
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        for y in range(0, grey.shape[0] - 96, 24):
            for x in range(0, grey.shape[1] - 96, 24):
                crops.append(cv2.resize(grey[y : y + 96, x : x + 96], (48, 48)))
    return np.stack(crops)


def test_blur_of_training_images_is_measured(faces):
    train, reference = faces[0::2], faces[1::2]  # alike content, as two splits are
    blurred = np.stack([cv2.GaussianBlur(f, (0, 0), 2.0) for f in train])
    assert abs(estimate_blur_sigma(blurred, reference) - 2.0) <= SIGMA_TOLERANCE
    assert estimate_blur_sigma(train, reference) <= SIGMA_TOLERANCE


def test_inference_blur_matches_opencv_and_skips_training(faces):
    x = (faces[:4, :, :, None] / 255.0).astype(np.float32)
    layer = InferenceBlur(2.0)
    expected = np.stack([cv2.GaussianBlur(f[:, :, 0], (0, 0), 2.0) for f in x])[..., None]
    assert np.abs(np.asarray(layer(x, training=False)) - expected).max() < PIXEL_TOLERANCE
    assert np.array_equal(np.asarray(layer(x, training=True)), x)
    assert np.array_equal(np.asarray(InferenceBlur(0.0)(x, training=False)), x)
