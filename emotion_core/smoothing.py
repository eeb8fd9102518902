"""Temporal smoothing of each face's probabilities (exponential moving average)."""

from __future__ import annotations

import numpy as np


class ProbabilitySmoother:
    """Per-face EMA: ``s = strength * s_prev + (1 - strength) * raw``.

    A face seen for the first time is seeded with its raw probabilities, so a new face
    shows its own emotion at once instead of fading in from zero. ``strength`` is passed
    on every call so a settings change applies to the next frame.
    """

    def __init__(self) -> None:
        self._state: dict[int, np.ndarray] = {}

    def update(self, face_id: int, raw: np.ndarray, strength: float) -> np.ndarray:
        prev = self._state.get(face_id)
        smoothed = (
            raw.astype(np.float32) if prev is None else strength * prev + (1.0 - strength) * raw
        )
        self._state[face_id] = smoothed
        return smoothed

    def forget(self, face_ids: set[int]) -> None:
        for face_id in face_ids:
            self._state.pop(face_id, None)
