"""Comparing sessions (or the faces of sessions) side by side.

Each compared item is one session, or one face of a session, with its samples. The
figures are those of :mod:`emotion_core.analytics`, so a session compared here shows
the same numbers as on its own page. Timelines are put on a shared time axis, either
in seconds since each session's start or in percent of each item's duration, and
binned to at most :data:`MAX_POINTS` points each, so a one-minute and a one-hour
session are drawn with the same density. :func:`compare_csv` is the one producer of
the comparison CSV.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emotion_core import analytics
from emotion_core.csv_text import safe_table
from emotion_core.emotions import LABELS, UNCERTAIN
from emotion_core.store import SessionInfo

MAX_POINTS = 300  # per item on the compared timelines


@dataclass(frozen=True)
class Item:
    """One compared series: a whole session (``face_id`` None) or one face of it."""

    label: str
    session_id: int
    face_id: int | None
    samples: pd.DataFrame


def make_items(sessions: Sequence[tuple[SessionInfo, pd.DataFrame]], per_face: bool) -> list[Item]:
    """Items of the given (session, samples) pairs; with ``per_face`` one per face."""
    items = []
    for info, samples in sessions:
        if not per_face:
            items.append(Item(f"#{info.id} {info.name}", info.id, None, samples))
            continue
        for face in analytics.face_ids(samples):
            part = analytics.select(samples, face_id=face)
            items.append(Item(f"#{info.id} face {face}", info.id, face, part))
    return items


def compare_table(items: Sequence[Item]) -> pd.DataFrame:
    """One row per item: duration, frames, dominant emotion, emotion shares, mean
    valence / arousal / confidence and the uncertain share."""
    rows = []
    for item in items:
        s = analytics.summarize(item.samples)
        va = analytics.valence_arousal(item.samples)
        shares = analytics.emotion_shares(item.samples)
        rows.append(
            {
                "item": item.label,
                "session_id": item.session_id,
                "face_id": item.face_id,
                "duration_s": s.duration_s,
                "frames": s.frames,
                "face_frame_share": s.face_frame_share,
                "dominant": s.dominant,
                "mean_valence": float(va["valence"].mean()) if len(va) else None,
                "mean_arousal": float(va["arousal"].mean()) if len(va) else None,
                "mean_confidence": s.mean_confidence,
                "uncertain_share": s.uncertain_share,
                **{f"share_{e}": float(shares[e]) for e in (*LABELS, UNCERTAIN)},
            }
        )
    table = pd.DataFrame(rows)
    if len(table):
        table["face_id"] = table["face_id"].astype("Int64")
    return table


def compare_timelines(items: Sequence[Item], relative: bool = False) -> pd.DataFrame:
    """Valence, arousal and confidence of each item over time, at most
    :data:`MAX_POINTS` bins each. Columns: item, t (seconds since the session's start,
    or percent of the item's duration with ``relative``), valence, arousal, confidence."""
    parts = []
    for item in items:
        faces = analytics.face_rows(item.samples)
        if faces.empty:
            continue
        va = analytics.valence_arousal(item.samples)
        t = va["t_rel"].to_numpy(dtype=float)
        start, span = t.min(), max(t.max() - t.min(), 1e-9)
        x = (t - start) / span * 100 if relative else t
        bins = np.minimum(
            ((x - x.min()) / max(x.max() - x.min(), 1e-9) * MAX_POINTS), MAX_POINTS - 1
        )
        table = pd.DataFrame(
            {
                "bin": bins.astype(int),
                "t": x,
                "valence": va["valence"].to_numpy(),
                "arousal": va["arousal"].to_numpy(),
                "confidence": faces["confidence"].to_numpy(dtype=float),
            }
        )
        binned = table.groupby("bin").mean().reset_index(drop=True)
        parts.append(
            binned.assign(item=item.label)[["item", "t", "valence", "arousal", "confidence"]]
        )
    if not parts:
        return pd.DataFrame(columns=["item", "t", "valence", "arousal", "confidence"])
    return pd.concat(parts, ignore_index=True)


def compare_csv(table: pd.DataFrame) -> bytes:
    """The comparison table as UTF-8 CSV (full float precision), one row per item;
    session names a spreadsheet would run as formulas are quoted as text."""
    buf = io.StringIO()
    safe_table(table).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")
