"""Analytics of one recorded session, computed from the samples table (pandas only).

Input everywhere is the DataFrame of :meth:`SessionStore.load_samples`: one row per face
per analysed frame, and one row with empty face columns for a frame without a face.
Nothing here drops data from the store: :func:`downsample` only thins what is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from emotion_core.emotions import LABELS, UNCERTAIN
from emotion_core.store import PROB_COLUMNS

MAX_BINS = 1500  # points per face a chart draws; a 1 h session at 15 fps has 54k rows

# Circumplex coordinates (valence, arousal) in [-1, 1], after Russell (1980) and the
# placements commonly used for the FER2013 labels (e.g. AffectNet's annotations).
# Neutral sits at the origin; a frame's point is the probability-weighted sum.
VALENCE_AROUSAL: dict[str, tuple[float, float]] = {
    "angry": (-0.51, 0.59),
    "disgust": (-0.60, 0.35),
    "fear": (-0.64, 0.60),
    "happy": (0.81, 0.51),
    "neutral": (0.0, 0.0),
    "sad": (-0.63, -0.27),
    "surprise": (0.40, 0.67),
}

# Confidence bands of the predicted label: (name, lower bound inclusive, upper exclusive).
BANDS: tuple[tuple[str, float, float], ...] = (
    ("high (>0.8)", 0.8, np.inf),
    ("medium (0.5-0.8)", 0.5, 0.8),
    ("low (<0.5)", -np.inf, 0.5),
)


@dataclass(frozen=True)
class Summary:
    """The headline figures of a session (or of a time range / face of it)."""

    duration_s: float
    frames: int  # analysed frames
    faces: int  # distinct tracked faces
    face_frame_share: float  # share of analysed frames with at least one face
    dominant: str | None  # most frequent predicted emotion ("uncertain" not counted)
    mean_confidence: float | None
    uncertain_share: float  # share of face rows labelled "uncertain"


def face_rows(samples: pd.DataFrame) -> pd.DataFrame:
    """Only the rows that describe a face (drops the no-face frame markers)."""
    return samples[samples["face_id"].notna()]


def face_ids(samples: pd.DataFrame) -> list[int]:
    return sorted(int(f) for f in samples["face_id"].dropna().unique())


def select(
    samples: pd.DataFrame,
    t_range: tuple[float, float] | None = None,
    face_id: int | None = None,
) -> pd.DataFrame:
    """Rows within ``t_range`` (seconds of t_rel, inclusive), optionally of one face.

    No-face rows are kept with a face filter so that face-present shares still see
    every analysed frame."""
    out = samples
    if t_range is not None:
        out = out[(out["t_rel"] >= t_range[0]) & (out["t_rel"] <= t_range[1])]
    if face_id is not None:
        out = out[out["face_id"].isna() | (out["face_id"] == face_id)]
    return out


def summarize(samples: pd.DataFrame) -> Summary:
    """Headline figures; duration is the span of t_rel covered by the rows."""
    faces = face_rows(samples)
    frames = samples["frame_index"].nunique()
    with_face = faces["frame_index"].nunique()
    labels = faces["label"][faces["label"] != UNCERTAIN].dropna()
    return Summary(
        duration_s=float(samples["t_rel"].max() - samples["t_rel"].min()) if frames else 0.0,
        frames=int(frames),
        faces=len(face_ids(samples)),
        face_frame_share=with_face / frames if frames else 0.0,
        dominant=str(labels.value_counts().idxmax()) if len(labels) else None,
        mean_confidence=float(faces["confidence"].mean()) if len(faces) else None,
        uncertain_share=float((faces["label"] == UNCERTAIN).mean()) if len(faces) else 0.0,
    )


def emotion_shares(samples: pd.DataFrame) -> pd.Series:
    """Share of face rows per predicted label, in label order, "uncertain" last."""
    labels = face_rows(samples)["label"]
    order = [*LABELS, UNCERTAIN]
    counts = labels.value_counts().reindex(order, fill_value=0)
    total = counts.sum()
    return (counts / total if total else counts.astype(float)).rename("share")


def confidence_bands(samples: pd.DataFrame) -> pd.DataFrame:
    """Rows and share of face rows in each confidence band (high / medium / low)."""
    conf = face_rows(samples)["confidence"].dropna()
    counts = [int(((conf >= lo) & (conf < hi)).sum()) for _, lo, hi in BANDS]
    total = sum(counts)
    return pd.DataFrame(
        {
            "band": [b[0] for b in BANDS],
            "rows": counts,
            "share": [c / total if total else 0.0 for c in counts],
        }
    )


def dominant(samples: pd.DataFrame) -> pd.Series:
    """The top smoothed emotion of every face row (never "uncertain")."""
    faces = face_rows(samples)
    probs = faces[list(PROB_COLUMNS)].to_numpy(dtype=float)
    return pd.Series(np.asarray(LABELS)[probs.argmax(axis=1)], index=faces.index, dtype=object)


def transitions(samples: pd.DataFrame) -> pd.DataFrame:
    """Counts of changes of dominant emotion between consecutive rows of the same face.

    A 7x7 matrix (rows: from, columns: to); staying in the same emotion is not a
    transition, so the diagonal is zero."""
    faces = face_rows(samples).assign(dominant=dominant(samples))
    faces = faces.sort_values(["face_id", "t_rel", "frame_index"], kind="stable")
    prev = faces.groupby("face_id")["dominant"].shift()
    changed = faces[prev.notna() & (prev != faces["dominant"])]
    pairs = pd.crosstab(prev[changed.index], changed["dominant"])
    matrix = pairs.reindex(index=list(LABELS), columns=list(LABELS), fill_value=0)
    matrix.index.name, matrix.columns.name = "from", "to"
    return matrix.astype(int)


def valence_arousal(samples: pd.DataFrame) -> pd.DataFrame:
    """Per face row: t_rel, face_id and the expected valence and arousal."""
    faces = face_rows(samples)
    probs = faces[list(PROB_COLUMNS)].to_numpy(dtype=float)
    coords = np.array([VALENCE_AROUSAL[e] for e in LABELS])
    va = probs @ coords
    return pd.DataFrame(
        {
            "t_rel": faces["t_rel"].to_numpy(),
            "face_id": faces["face_id"].to_numpy(),
            "valence": va[:, 0],
            "arousal": va[:, 1],
        }
    )


def downsample(samples: pd.DataFrame, max_bins: int = MAX_BINS) -> pd.DataFrame:
    """Face rows averaged into at most ``max_bins`` equal time bins per face, for drawing.

    Keeps the time range (first and last bin hold the first and last rows), returns the
    columns t_rel, face_id, p_<emotion>, confidence, valence, arousal and dominant."""
    faces = face_rows(samples)
    va = valence_arousal(samples).set_index(faces.index)
    table = pd.concat(
        [faces[["t_rel", "face_id", *PROB_COLUMNS, "confidence"]], va[["valence", "arousal"]]],
        axis=1,
    )
    parts = [_bin_face(group, max_bins) for _, group in table.groupby("face_id", sort=True)]
    if not parts:
        return table.assign(dominant=pd.Series(dtype=object))
    out = pd.concat(parts, ignore_index=True)
    probs = out[list(PROB_COLUMNS)].to_numpy(dtype=float)
    return out.assign(dominant=np.asarray(LABELS)[probs.argmax(axis=1)])


def _bin_face(group: pd.DataFrame, max_bins: int) -> pd.DataFrame:
    if len(group) <= max_bins:
        return group.reset_index(drop=True)
    t = group["t_rel"].to_numpy(dtype=float)
    edges = np.linspace(t.min(), t.max(), max_bins + 1)
    bins = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, max_bins - 1)
    means = group.drop(columns="face_id").groupby(bins).mean().reset_index(drop=True)
    # Pin the ends so that a binned chart spans exactly the selected time range.
    means.loc[0, "t_rel"], means.loc[len(means) - 1, "t_rel"] = t.min(), t.max()
    return means.assign(face_id=group["face_id"].iloc[0])
