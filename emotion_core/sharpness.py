"""Matching the sharpness of live faces to the training images.

The FER2013 copy this project trains on has every *training* image blurred (about a
Gaussian of sigma 3 px at 48x48; measured in docs/data-quality.md), while its test
split, like a webcam, is sharp. A network trained on blurred faces misreads sharp
ones, so the model blurs its input the same way at inference time. The blur lives in
the network (:class:`InferenceBlur`), so every caller (live, media, evaluation, TFLite)
gets it, and training, whose images are already blurred, skips it.
"""

from __future__ import annotations

import cv2
import keras
import numpy as np

SIGMAS = np.round(np.arange(0.0, 5.01, 0.25), 2)


def gaussian_kernel(sigma: float) -> np.ndarray:
    """A normalised 2-D Gaussian (odd side, about 3 sigma each way) as (k, k, 1, 1)."""
    radius = max(1, int(np.ceil(3 * sigma)))
    k1 = cv2.getGaussianKernel(2 * radius + 1, sigma)
    return (k1 @ k1.T).astype(np.float32)[:, :, None, None]


def _spectrum(images: np.ndarray) -> np.ndarray:
    """Mean radial amplitude spectrum of a stack of square grey images."""
    x = images.astype(np.float32)
    x -= x.mean(axis=(1, 2), keepdims=True)
    amp = np.abs(np.fft.fftshift(np.fft.fft2(x), axes=(1, 2))).mean(0)
    c = amp.shape[0] // 2
    yy, xx = np.indices(amp.shape)
    r = np.hypot(yy - c, xx - c).astype(int)
    return np.bincount(r.ravel(), amp.ravel()) / np.bincount(r.ravel())


def estimate_blur_sigma(train: np.ndarray, reference: np.ndarray, sample: int = 2000) -> float:
    """The Gaussian sigma that, applied to ``reference`` faces, best matches the
    spectrum of ``train`` faces at low and middle frequencies (0 = equally sharp).

    Both are (N, 48, 48) uint8 stacks; only the first ``sample`` of each are used.
    """
    target = _spectrum(train[:sample])[1:12]
    ref = reference[:sample]
    errors = []
    for sigma in SIGMAS:
        blurred = np.stack([cv2.GaussianBlur(i, (0, 0), sigma) for i in ref]) if sigma else ref
        errors.append(float(np.sum(np.log(_spectrum(blurred)[1:12] / target) ** 2)))
    return float(SIGMAS[int(np.argmin(errors))])


@keras.saving.register_keras_serializable(package="emotion_core")
class InferenceBlur(keras.layers.Layer):
    """A fixed Gaussian blur applied only when not training (see the module docstring)."""

    def __init__(self, sigma: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sigma = float(sigma)
        self._kernel = gaussian_kernel(self.sigma) if self.sigma > 0 else None

    def call(self, inputs, training=None):
        if self._kernel is None or training:
            return inputs
        pad = self._kernel.shape[0] // 2
        x = keras.ops.pad(inputs, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="reflect")
        kernel = keras.ops.cast(self._kernel, inputs.dtype)
        return keras.ops.conv(x, kernel, padding="valid")

    def get_config(self) -> dict:
        return {**super().get_config(), "sigma": self.sigma}
