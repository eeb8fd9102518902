"""The training augmentation: which faces are resampled (softened) and which stay sharp."""

import numpy as np

from emotion_core.augment import build_augmenter


def best_correlation(out: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Per face: the correlation of the output with the face or its mirror (a brightness
    or contrast change keeps it at 1; rotation, zoom or shift does not)."""

    def corr(a, b):
        a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
        a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
        return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))

    return np.maximum(corr(out, faces), corr(out, faces[:, :, ::-1]))


def test_a_sharp_share_of_faces_skips_the_resampling():
    faces = np.random.default_rng(0).uniform(0.3, 0.7, (200, 48, 48, 1)).astype("f4")
    moved = best_correlation(np.asarray(build_augmenter(1)(faces)), faces)
    assert (moved > 0.99).mean() < 0.05  # nearly every face resampled
    sharp = best_correlation(np.asarray(build_augmenter(1, sharp_share=1.0)(faces)), faces)
    assert (sharp > 0.99).all()
    half = best_correlation(np.asarray(build_augmenter(1, sharp_share=0.5)(faces)), faces)
    assert 0.35 < (half > 0.99).mean() < 0.65
