"""Notable moments of a session: the stretches worth a look, found automatically.

Three detectors run on each face's rows (the smoothed probabilities of
:meth:`SessionStore.load_samples`), in time order, never across a gap (a pause, the
face out of view for more than :data:`MAX_HOLE_S`):

- **sustained**: one non-neutral emotion dominant for at least :data:`SUSTAIN_S`
  seconds; strength = its mean probability over the episode.
- **change**: the dominant emotion switches from one stable run (at least
  :data:`STABLE_S` s) to another within :data:`CHANGE_S` s, or the valence moves by
  at least :data:`VALENCE_JUMP` within :data:`CHANGE_S` s; strength = the valence
  step over its largest possible size (a switch between two emotions of equal valence
  gets at least :data:`MIN_CHANGE_STRENGTH`).
- **unusual**: the face's valence, averaged over :data:`SMOOTH_S` s (centred), stays at least
  :data:`UNUSUAL_Z` standard deviations from the face's own session mean for at least
  :data:`UNUSUAL_S` s (a baseline per face, not a norm across people); strength =
  mean |z| / (2 x :data:`UNUSUAL_Z`), capped at 1.

Every moment has start, end (t_rel seconds), face, kind, a sentence saying what
happened, and a strength in 0..1. Pure pandas/numpy: no I/O.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd

from emotion_core.analytics import VALENCE_AROUSAL, face_rows
from emotion_core.emotions import LABELS
from emotion_core.store import PROB_COLUMNS

SUSTAIN_S = 5.0
STABLE_S = 2.0
CHANGE_S = 1.0
VALENCE_JUMP = 0.5
MIN_CHANGE_STRENGTH = 0.3
UNUSUAL_Z = 2.0
UNUSUAL_S = 3.0
SMOOTH_S = 1.0
MAX_HOLE_S = 1.0  # a longer stretch without the face splits its rows into segments
MIN_BASELINE_ROWS = 30  # fewer rows: no baseline, no "unusual" moments
_VALENCE = np.array([VALENCE_AROUSAL[e][0] for e in LABELS])
_VALENCE_SPAN = float(_VALENCE.max() - _VALENCE.min())
NEUTRAL = LABELS.index("neutral")
COLUMNS = ["start", "end", "face_id", "kind", "what", "strength"]


def notable_moments(samples: pd.DataFrame, gaps: pd.DataFrame | None = None) -> pd.DataFrame:
    """Moments of every face, sorted by start; columns :data:`COLUMNS`."""
    found: list[dict] = []
    faces = face_rows(samples).sort_values(["face_id", "t_rel"], kind="stable")
    for face_id, rows in faces.groupby("face_id", sort=True):
        t = rows["t_rel"].to_numpy(dtype=float)
        probs = rows[list(PROB_COLUMNS)].to_numpy(dtype=float)
        valence = probs @ _VALENCE
        z = _baseline_z(valence)
        for seg in _segments(t, gaps):
            found += _sustained(t[seg], probs[seg])
            found += _changes(t[seg], probs[seg], valence[seg])
            if z is not None:
                found += _unusual(t[seg], z[seg])
        for m in found:
            m.setdefault("face_id", int(face_id))
    table = pd.DataFrame(found, columns=COLUMNS)
    return table.sort_values(["start", "face_id"], kind="stable", ignore_index=True)


def _segments(t: np.ndarray, gaps: pd.DataFrame | None) -> list[slice]:
    """Index slices of continuous data: split at holes and at stored gaps."""
    cut = np.diff(t) > MAX_HOLE_S
    if gaps is not None and len(gaps):
        for g in gaps.itertuples():  # a pause shorter than MAX_HOLE_S still splits
            cut |= (t[:-1] <= g.t_start) & (t[1:] >= g.t_end)
    bounds = [0, *(np.flatnonzero(cut) + 1), len(t)]
    return [slice(a, b) for a, b in pairwise(bounds) if b > a]


def _runs(dominant: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index ranges of equal consecutive values."""
    edges = np.flatnonzero(np.diff(dominant)) + 1
    bounds = [0, *edges, len(dominant)]
    return list(pairwise(bounds))


def _sustained(t: np.ndarray, probs: np.ndarray) -> list[dict]:
    dominant = probs.argmax(axis=1)
    out = []
    for a, b in _runs(dominant):
        e = int(dominant[a])
        if e != NEUTRAL and t[b - 1] - t[a] >= SUSTAIN_S:
            out.append(_moment(t[a], t[b - 1], "sustained",
                               f"{LABELS[e]} held for {t[b - 1] - t[a]:.1f} s",
                               float(probs[a:b, e].mean())))  # fmt: skip
    return out


def _changes(t: np.ndarray, probs: np.ndarray, valence: np.ndarray) -> list[dict]:
    out = []
    dominant = probs.argmax(axis=1)
    runs = [(a, b) for a, b in _runs(dominant) if t[b - 1] - t[a] >= STABLE_S]
    for (a1, b1), (a2, b2) in pairwise(runs):
        e1, e2 = int(dominant[a1]), int(dominant[a2])
        if e1 == e2 or t[a2] - t[b1 - 1] > CHANGE_S:
            continue
        step = float(valence[a2:b2].mean() - valence[a1:b1].mean())
        strength = max(abs(step) / _VALENCE_SPAN, MIN_CHANGE_STRENGTH)
        what = f"{LABELS[e1]} → {LABELS[e2]} (valence {step:+.2f})"
        out.append(_moment(t[b1 - 1], t[a2], "change", what, strength))
    # Valence jumps inside one dominant run or between unstable runs.
    before = np.searchsorted(t, t - CHANGE_S, side="left")
    jump = valence - valence[before]
    big = np.abs(jump) >= VALENCE_JUMP
    for a, b in _runs(big.astype(int)):
        if not big[a]:
            continue
        peak = a + int(np.abs(jump[a:b]).argmax())
        start, end = t[before[peak]], t[peak]
        if any(m["start"] <= end and start <= m["end"] for m in out):
            continue  # already told as a change of dominant emotion
        direction = "rose" if jump[peak] > 0 else "fell"
        what = f"valence {direction} by {abs(jump[peak]):.2f} within {end - start:.1f} s"
        out.append(_moment(start, end, "change", what, abs(float(jump[peak])) / _VALENCE_SPAN))
    return out


def _baseline_z(valence: np.ndarray) -> np.ndarray | None:
    if len(valence) < MIN_BASELINE_ROWS:
        return None
    sd = float(valence.std())
    if sd < 1e-6:
        return np.zeros_like(valence)
    return (valence - valence.mean()) / sd


def _unusual(t: np.ndarray, z: np.ndarray) -> list[dict]:
    smooth = _time_mean(t, z, SMOOTH_S)
    side = np.where(smooth >= UNUSUAL_Z, 1, np.where(smooth <= -UNUSUAL_Z, -1, 0))
    out = []
    for a, b in _runs(side):
        if side[a] == 0 or t[b - 1] - t[a] < UNUSUAL_S:
            continue
        what = "positive" if side[a] > 0 else "negative"
        mean_z = float(np.abs(smooth[a:b]).mean())
        out.append(_moment(t[a], t[b - 1], "unusual",
                           f"{what} valence {mean_z:.1f} SD from this face's mean",
                           min(mean_z / (2 * UNUSUAL_Z), 1.0)))  # fmt: skip
    return out


def _time_mean(t: np.ndarray, x: np.ndarray, window: float) -> np.ndarray:
    """Mean of ``x`` over the ``window`` seconds centred on each row (cumulative sums;
    centred, so a stretch found is not shifted late)."""
    start = np.searchsorted(t, t - window / 2, side="left")
    stop = np.searchsorted(t, t + window / 2, side="right")
    cum = np.concatenate([[0.0], np.cumsum(x)])
    return (cum[stop] - cum[start]) / (stop - start)


def _moment(start: float, end: float, kind: str, what: str, strength: float) -> dict:
    return {"start": float(start), "end": float(end), "kind": kind, "what": what,
            "strength": round(float(np.clip(strength, 0.0, 1.0)), 3)}  # fmt: skip
