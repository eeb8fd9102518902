"""Training-time augmentation for 48x48 grey faces, as a tf.data map on batches.

Geometric (flip, rotation, zoom, shift), photometric (brightness, contrast) and random
erasing. Kept out of the model so the shipped network is the bare classifier.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


def build_augmenter(seed: int = 0, sharp_share: float = 0.0):
    """Random transforms for float32 (N, 48, 48, 1) batches in 0..1, as a function.

    Rotation, zoom and shift resample the face bilinearly, which softens it; a share
    ``sharp_share`` of the faces skips them (flip and the photometric changes still
    apply), so the network also sees faces as sharp as a FER2013 test face.
    """
    flip = layers.RandomFlip("horizontal", seed=seed)
    geometric = keras.Sequential(
        [
            layers.RandomRotation(0.04, fill_mode="reflect", seed=seed + 1),  # about 15 degrees
            layers.RandomZoom((-0.15, 0.15), fill_mode="reflect", seed=seed + 2),
            layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed + 3),
        ],
        name="geometric",
    )
    photometric = keras.Sequential(
        [
            layers.RandomBrightness(0.2, value_range=(0.0, 1.0), seed=seed + 4),
            layers.RandomContrast(0.3, seed=seed + 5),
        ],
        name="photometric",
    )

    def augment(images: tf.Tensor) -> tf.Tensor:
        images = flip(images, training=True)
        moved = geometric(images, training=True)
        if sharp_share > 0:
            keep = tf.random.uniform((tf.shape(images)[0], 1, 1, 1), 0, 1) < sharp_share
            moved = tf.where(keep, images, moved)
        return photometric(moved, training=True)

    return augment


def random_erasing(images: tf.Tensor, probability: float = 0.5, max_side: int = 20) -> tf.Tensor:
    """Blank one random rectangle (up to ``max_side`` px a side) in about ``probability``
    of the images, so the network cannot rely on one facial region alone."""
    shape = tf.shape(images)
    n, h, w = shape[0], shape[1], shape[2]
    sides = tf.random.uniform((n, 2), 6, max_side + 1, dtype=tf.int32)
    tops = tf.random.uniform((n, 1), 0, 1) * tf.cast(h - sides[:, :1], tf.float32)
    lefts = tf.random.uniform((n, 1), 0, 1) * tf.cast(w - sides[:, 1:], tf.float32)
    rows = tf.cast(tf.range(h), tf.float32)[None, :]
    cols = tf.cast(tf.range(w), tf.float32)[None, :]
    in_rows = (rows >= tops) & (rows < tops + tf.cast(sides[:, :1], tf.float32))
    in_cols = (cols >= lefts) & (cols < lefts + tf.cast(sides[:, 1:], tf.float32))
    box = in_rows[:, :, None] & in_cols[:, None, :]
    apply = tf.random.uniform((n, 1, 1), 0, 1) < probability
    mask = tf.cast(box & apply, images.dtype)[..., None]
    fill = tf.random.uniform((n, 1, 1, 1), 0, 1, dtype=images.dtype)
    return images * (1.0 - mask) + fill * mask
