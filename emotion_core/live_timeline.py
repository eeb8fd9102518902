"""The last minute of each face's probabilities, kept in memory for the live chart.

The video thread adds each analysed frame (a few microseconds: one deque append per
face); the page thread asks once a second for a small binned table. Nothing here is
written anywhere: it is the picture of the last minute, not the record.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np
import pandas as pd

from emotion_core.emotions import LABELS
from emotion_core.results import FrameResult
from emotion_core.store import PROB_COLUMNS

WINDOW_S = 60.0  # what the live chart shows
BIN_S = 0.5  # one point per face per half second: ~120 points a line, light to send


class LiveTimeline:
    """A thread-safe ring buffer of (stream seconds, face id, smoothed probabilities)."""

    def __init__(self, window_s: float = WINDOW_S, bin_s: float = BIN_S) -> None:
        self.window_s, self.bin_s = window_s, bin_s
        self._lock = threading.Lock()
        self._rows: deque[tuple[float, int, np.ndarray]] = deque()
        self._now = 0.0

    def add(self, t: float, result: FrameResult) -> None:
        """Record one analysed frame at ``t`` seconds of the stream (video thread)."""
        with self._lock:
            self._now = t
            for face in result.faces:
                self._rows.append((t, face.face_id, face.smoothed))
            while self._rows and self._rows[0][0] < t - self.window_s:
                self._rows.popleft()

    def tick(self, t: float) -> None:
        """Advance the clock without data (a paused frame): the chart keeps moving and
        shows the pause as a gap."""
        with self._lock:
            self._now = max(self._now, t)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self._now = 0.0

    def table(self) -> pd.DataFrame:
        """Per face, the mean probabilities of each ``bin_s`` bin of the window.

        Columns: ``t`` (seconds relative to now, -window..0), ``face_id``, ``p_<emotion>``.
        Bins without data are NaN rows, so a pause or a face out of view is drawn as a
        gap, not joined across."""
        with self._lock:
            rows, now = list(self._rows), self._now
        columns = ["t", "face_id", *PROB_COLUMNS]
        if not rows:
            return pd.DataFrame(columns=columns)
        times = np.array([r[0] for r in rows])
        faces = np.array([r[1] for r in rows])
        probs = np.stack([r[2] for r in rows])
        n_bins = int(round(self.window_s / self.bin_s))
        bins = np.clip(((times - (now - self.window_s)) // self.bin_s).astype(int), 0, n_bins - 1)
        centres = (np.arange(n_bins) + 0.5) * self.bin_s - self.window_s
        parts = []
        for face in np.unique(faces):
            mine = faces == face
            sums = np.zeros((n_bins, len(LABELS)))
            np.add.at(sums, bins[mine], probs[mine])
            counts = np.bincount(bins[mine], minlength=n_bins)[:, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
            part = pd.DataFrame(means, columns=list(PROB_COLUMNS))
            part.insert(0, "face_id", int(face))
            part.insert(0, "t", centres)
            parts.append(part)
        return pd.concat(parts, ignore_index=True)


def main_face(table: pd.DataFrame) -> int | None:
    """The face seen in the most bins of the window (ties: the lower id)."""
    seen = table.dropna(subset=[PROB_COLUMNS[0]])
    if seen.empty:
        return None
    counts = seen.groupby("face_id").size()
    return int(counts[counts == counts.max()].index.min())
