"""Notable moments on synthetic sessions whose moments are known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_analytics import long_session

from emotion_core import moments
from emotion_core.emotions import LABELS
from emotion_core.store import SAMPLE_COLUMNS

FPS = 10
EDGE_S = 0.25  # a detected edge lies within this of the scripted one (frame steps)


def session(scripts: dict[int, list[tuple[float, float, str]]], conf: float = 0.9) -> pd.DataFrame:
    """Rows at FPS for each face following (start s, end s, emotion) steps."""
    rows = []
    for face, script in scripts.items():
        for start, end, emotion in script:
            for t in np.arange(start, end, 1 / FPS):
                rest = (1 - conf) / (len(LABELS) - 1)
                row = dict.fromkeys(SAMPLE_COLUMNS, np.nan)
                row |= {"session_id": 1, "frame_index": int(round(t * FPS)), "t_rel": float(t)}
                row |= {f"p_{e}": conf if e == emotion else rest for e in LABELS}
                rows.append(row | {"face_id": face, "label": emotion, "confidence": conf})
    frame = pd.DataFrame(rows, columns=list(SAMPLE_COLUMNS))
    frame["face_id"] = frame["face_id"].astype("Int64")
    return frame.sort_values(["t_rel", "face_id"], ignore_index=True)


def of_kind(found: pd.DataFrame, kind: str) -> pd.DataFrame:
    return found[found["kind"] == kind]


def test_a_held_emotion_is_a_sustained_moment_and_neutral_is_not():
    found = moments.notable_moments(
        session({0: [(0, 10, "neutral"), (10, 20, "happy"), (20, 40, "neutral")]})
    )
    sustained = of_kind(found, "sustained")
    assert len(sustained) == 1
    m = sustained.iloc[0]
    assert m["start"] == pytest.approx(10, abs=EDGE_S) and m["end"] == pytest.approx(20, abs=EDGE_S)
    assert m["face_id"] == 0 and "happy held" in m["what"]
    assert m["strength"] == pytest.approx(0.9)
    changes = of_kind(found, "change")
    assert list(changes["start"].round()) == [10, 20]
    assert "neutral → happy" in changes.iloc[0]["what"]
    assert "happy → neutral" in changes.iloc[1]["what"]
    assert list(found.columns) == moments.COLUMNS
    assert found["strength"].between(0, 1).all()


def test_a_short_negative_run_is_unusual_against_the_face_baseline():
    found = moments.notable_moments(
        session({0: [(0, 30, "neutral"), (30, 34, "sad"), (34, 60, "neutral")]})
    )
    assert of_kind(found, "sustained").empty  # 4 s is below SUSTAIN_S
    unusual = of_kind(found, "unusual")
    assert len(unusual) == 1
    m = unusual.iloc[0]
    assert "negative valence" in m["what"]
    assert 30 <= m["start"] <= 31 and 33 <= m["end"] <= 34.1  # within the sad stretch
    assert m["strength"] > 0.5


def test_a_steady_session_has_no_moments():
    found = moments.notable_moments(session({0: [(0, 60, "neutral")]}))
    assert found.empty and list(found.columns) == moments.COLUMNS


def test_a_pause_splits_episodes_it_interrupts():
    rows = session({0: [(0, 4, "happy"), (4.2, 8, "happy")]})  # 0.2 s hole only
    gaps = pd.DataFrame({"t_start": [3.95], "t_end": [4.15], "reason": ["paused"]})
    assert len(of_kind(moments.notable_moments(rows), "sustained")) == 1  # joined
    assert of_kind(moments.notable_moments(rows, gaps), "sustained").empty  # 4 s + 4 s


def test_each_face_gets_its_own_moments():
    found = moments.notable_moments(
        session({0: [(0, 8, "angry")], 1: [(0, 2, "neutral"), (2, 9, "surprise")]})
    )
    sustained = of_kind(found, "sustained").set_index("face_id")
    assert "angry" in sustained.loc[0, "what"] and "surprise" in sustained.loc[1, "what"]
    assert sustained.loc[1, "start"] == pytest.approx(2, abs=EDGE_S)


def test_an_hour_of_noise_is_handled_and_no_row_is_changed():
    rows = long_session()
    before = rows.copy()
    found = moments.notable_moments(rows)
    assert list(found.columns) == moments.COLUMNS
    assert (found["end"] >= found["start"]).all()
    pd.testing.assert_frame_equal(rows, before)
