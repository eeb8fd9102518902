"""Session analytics on a synthetic session whose answers are known by construction."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from emotion_core import analytics, charts
from emotion_core.emotions import LABELS, UNCERTAIN
from emotion_core.store import SAMPLE_COLUMNS, SessionStore

START = datetime(2026, 11, 23, 10, 55, 0, tzinfo=UTC)
T0 = START.timestamp()
TOL = 1e-9
H, S, N = "happy", "sad", "neutral"
# face 0 over frames 0..9 (frame 7 is "uncertain" with neutral on top), face 1 over 0..4
FACE0 = [(H, 0.9)] * 4 + [(S, 0.6)] * 3 + [(N, 0.4)] + [(H, 0.9)] * 2
FACE1 = [(N, 0.7)] * 5
NO_FACE_FRAMES = (10, 11)
STEP_S = 0.5


def face_row(sid: int, frame: int, face: int, top: str, conf: float, label: str) -> dict:
    """A store row shaped like recording.rows_for: ``top`` gets ``conf``, the rest share."""
    rest = (1 - conf) / (len(LABELS) - 1)
    probs = {f"p_{e}": conf if e == top else rest for e in LABELS}
    raw = {f"raw_{e}": p for e, p in zip(LABELS, probs.values())}
    return {
        "session_id": sid, "frame_index": frame, "t_wall": T0 + frame * STEP_S,
        "t_rel": frame * STEP_S, "face_id": face, "x": 10 + face * 200, "y": 20, "w": 120,
        "h": 130, "det_score": 0.95, **raw, **probs, "label": label, "confidence": conf,
    }  # fmt: skip


def make_session(store: SessionStore, started_at: datetime = START) -> int:
    """The known session: two faces, an uncertain frame, two frames without a face."""
    sid = store.create_session("webcam", {"smoothing": 0.6}, started_at=started_at)
    rows = []
    for face, seq in ((0, FACE0), (1, FACE1)):
        for frame, (top, conf) in enumerate(seq):
            label = top if conf >= 0.5 else UNCERTAIN
            rows.append(face_row(sid, frame, face, top, conf, label))
    for frame in NO_FACE_FRAMES:
        rows.append({"session_id": sid, "frame_index": frame, "t_wall": T0 + frame * STEP_S,
                     "t_rel": frame * STEP_S})  # fmt: skip
    store.add_samples(rows)
    store.end_session(sid, ended_at=datetime.fromtimestamp(T0 + 6.0, UTC))
    return sid


@pytest.fixture
def samples(store) -> pd.DataFrame:
    return store.load_samples(make_session(store))


def test_summary_has_the_known_figures(samples):
    s = analytics.summarize(samples)
    assert s.frames == 12 and s.faces == 2
    assert s.duration_s == pytest.approx(5.5, abs=TOL)
    assert s.face_frame_share == pytest.approx(10 / 12, abs=TOL)
    assert s.dominant == "happy"
    assert s.mean_confidence == pytest.approx(11.1 / 15, abs=TOL)
    assert s.uncertain_share == pytest.approx(1 / 15, abs=TOL)


def test_emotion_shares_count_face_rows_only(samples):
    shares = analytics.emotion_shares(samples)
    assert list(shares.index) == [*LABELS, UNCERTAIN]
    assert shares["happy"] == pytest.approx(6 / 15) and shares["sad"] == pytest.approx(3 / 15)
    assert shares["neutral"] == pytest.approx(5 / 15)
    assert shares[UNCERTAIN] == pytest.approx(1 / 15)
    assert shares.sum() == pytest.approx(1.0)


def test_confidence_bands_split_at_0_5_and_0_8(samples):
    bands = analytics.confidence_bands(samples).set_index("band")
    assert list(bands["rows"]) == [6, 8, 1]
    assert bands["share"].sum() == pytest.approx(1.0)


def test_transitions_count_changes_of_dominant_emotion_per_face(samples):
    m = analytics.transitions(samples)
    assert m.shape == (7, 7) and int(np.trace(m.values)) == 0
    assert m.loc["happy", "sad"] == 1 and m.loc["sad", "neutral"] == 1
    assert m.loc["neutral", "happy"] == 1
    assert int(m.values.sum()) == 3  # face 1 never changes; faces are not chained


def test_time_range_and_face_selection(samples):
    part = analytics.select(samples, (0.0, 1.5), face_id=1)
    assert set(part["face_id"].dropna()) == {1} and part["t_rel"].max() == 1.5
    assert analytics.summarize(analytics.select(samples, (5.0, 5.5))).face_frame_share == 0


def test_valence_arousal_is_the_probability_weighted_circumplex_point(samples):
    va = analytics.valence_arousal(samples)
    first = va.iloc[0]  # face 0, frame 0: happy 0.9, others 0.1/6
    rest = 0.1 / 6
    expected_v = 0.9 * analytics.VALENCE_AROUSAL["happy"][0] + rest * sum(
        v for e, (v, _) in analytics.VALENCE_AROUSAL.items() if e != "happy"
    )
    assert first["valence"] == pytest.approx(expected_v)
    assert va["valence"].between(-1, 1).all() and va["arousal"].between(-1, 1).all()


def long_session(fps: float = 15.0, hours: float = 1.0) -> pd.DataFrame:
    """A one-hour single-face session (54k rows) built in memory."""
    n = int(fps * hours * 3600)
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(len(LABELS)), n)
    data = {c: np.full(n, np.nan) for c in SAMPLE_COLUMNS}
    data |= {"session_id": 1, "frame_index": np.arange(n), "t_rel": np.arange(n) / fps}
    data |= {f"p_{e}": probs[:, i] for i, e in enumerate(LABELS)}
    data |= {"face_id": pd.array(np.zeros(n, int), "Int64"), "confidence": probs.max(axis=1)}
    data["label"] = np.asarray(LABELS)[probs.argmax(axis=1)]
    return pd.DataFrame(data)


def test_downsampling_an_hour_keeps_the_time_range_and_is_fast():
    rows = long_session()
    start = time.perf_counter()
    binned = analytics.downsample(rows)
    charts.timeline(binned, 0)
    charts.valence_arousal_path(binned, 0)
    elapsed = time.perf_counter() - start
    assert len(binned) <= analytics.MAX_BINS
    assert binned["t_rel"].min() == rows["t_rel"].min()
    assert binned["t_rel"].max() == rows["t_rel"].max()
    assert binned[[f"p_{e}" for e in LABELS]].sum(axis=1).to_numpy() == pytest.approx(1.0)
    assert elapsed < 5.0, elapsed  # generous: the CPU is shared with training
    assert len(rows) == 54_000  # the source is untouched


def test_short_session_is_drawn_point_for_point(samples):
    binned = analytics.downsample(samples)
    assert len(binned) == 15 and set(binned["face_id"]) == {0, 1}


def test_charts_build_for_a_session_and_for_an_empty_range(samples):
    empty = analytics.select(samples, (5.0, 5.5))
    for part in (samples, empty):
        binned = analytics.downsample(part)
        figs = [
            charts.timeline(binned, 0),
            charts.valence_arousal_path(binned, 0),
            charts.confidence_histogram(part, analytics.confidence_bands(part)),
            charts.share_bar(analytics.emotion_shares(part)),
            charts.transition_heatmap(analytics.transitions(part)),
        ]
        assert all(f.to_dict()["layout"]["title"] for f in figs)


def test_history_and_summary_agree_on_the_dominant_emotion(store):
    """Many "uncertain" rows do not make "uncertain" the dominant emotion anywhere."""
    sid = store.create_session("webcam", {})
    rows = [face_row(sid, i, 0, "sad", 0.3, UNCERTAIN) for i in range(5)]
    rows += [face_row(sid, 5 + i, 0, "happy", 0.9, "happy") for i in range(2)]
    store.add_samples(rows)
    assert store.get_session(sid).dominant == "happy"
    assert analytics.summarize(store.load_samples(sid)).dominant == "happy"
