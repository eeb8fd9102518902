"""End to end: a recorded two-face session opened on the Session analytics page in real
headless Chromium; every chart renders, the per-frame CSV download delivers the store's
bytes, and a screenshot goes to test-artifacts/analytics.png."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from harness import ARTIFACTS, BROWSER_FLAGS, CHROMIUM, require_chromium

from emotion_core.emotions import LABELS, UNCERTAIN
from emotion_core.report import report_csv
from emotion_core.store import SessionStore, sqlite_url

SCREENSHOT = ARTIFACTS / "analytics.png"
pytestmark = pytest.mark.e2e

FPS, SECONDS = 15, 120
CHARTS = 7  # two faces: 2 timelines + 2 trajectories, shares, confidence, transitions
# (start second, emotion) for each face: what the synthetic person "feels".
SCRIPT = {
    0: [(0, "neutral"), (20, "happy"), (55, "surprise"), (65, "happy"), (90, "sad")],
    1: [(40, "neutral"), (60, "angry"), (75, "neutral")],
}
FACE1_SPAN = (40, 100)
MARKERS = [(21.0, "joke told"), (60.5, "second person reacts")]


def _probabilities(rng: np.random.Generator, face: int, t: np.ndarray) -> np.ndarray:
    """Noisy probabilities following SCRIPT, smoothed like the live EMA (alpha 0.3)."""
    starts = [s for s, _ in SCRIPT[face]]
    target = np.zeros((len(t), len(LABELS)))
    for i, (_, e) in enumerate(SCRIPT[face]):
        target[np.searchsorted(starts, t, side="right") - 1 == i, LABELS.index(e)] = 1.0
    raw = 0.8 * target + 0.2 * rng.dirichlet(np.full(len(LABELS), 0.6), len(t))
    out = np.empty_like(raw)
    out[0] = raw[0]
    for i in range(1, len(raw)):
        out[i] = 0.3 * raw[i] + 0.7 * out[i - 1]
    return out


def record_session(store: SessionStore) -> int:
    """Two minutes at 15 frames/s: one face throughout, a second one from 40 s to 100 s,
    and a short gap without any face."""
    start = datetime(2026, 11, 23, 10, 55, tzinfo=UTC)
    sid = store.create_session("webcam", {}, name="Demo: two people", started_at=start)
    rng = np.random.default_rng(7)
    t = np.arange(FPS * SECONDS) / FPS
    probs = {f: _probabilities(rng, f, t) for f in SCRIPT}
    rows = []
    for i, ti in enumerate(t):
        faces = [] if 30 <= ti < 33 else [0]
        faces += [1] if FACE1_SPAN[0] <= ti < FACE1_SPAN[1] else []
        base = {"session_id": sid, "frame_index": i, "t_wall": start.timestamp() + ti}
        base["t_rel"] = float(ti)
        rows += [base] if not faces else [_face(base, f, probs[f][i]) for f in faces]
    store.add_samples(rows)
    for t, note in MARKERS:
        store.add_marker(sid, t, note, t_wall=start.timestamp() + t)
    store.end_session(sid, ended_at=datetime.fromtimestamp(start.timestamp() + SECONDS, UTC))
    return sid


def _face(base: dict, face: int, p: np.ndarray) -> dict:
    conf = float(p.max())
    label = LABELS[int(p.argmax())] if conf >= 0.5 else UNCERTAIN
    row = {**base, "face_id": face, "x": 120 + 260 * face, "y": 90, "w": 150, "h": 170}
    row |= {"det_score": 0.93, "label": label, "confidence": conf}
    row |= {f"p_{e}": float(v) for e, v in zip(LABELS, p)}
    return row | {f"raw_{e}": float(v) for e, v in zip(LABELS, p)}


def test_analytics_page_renders_charts_and_downloads_the_csv(app_server, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    url, db = app_server
    store = SessionStore(sqlite_url(db))
    sid = record_session(store)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2350}, accept_downloads=True)
        page.goto(url)
        page.get_by_role("link", name="Session analytics").click(timeout=90_000)
        page.get_by_text("Session to analyse").wait_for(timeout=90_000)
        charts = page.locator('[data-testid="stPlotlyChart"] .main-svg')
        deadline = time.time() + 90
        while time.time() < deadline and charts.count() < CHARTS:
            page.wait_for_timeout(500)
        drawn = page.locator('[data-testid="stPlotlyChart"]')
        assert drawn.count() == CHARTS
        assert page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').count() == CHARTS
        timeline = page.locator('[data-testid="stPlotlyChart"]').first
        assert timeline.get_by_text("joke told").count() == 1  # the marker's label
        page.get_by_text("Notable moments").wait_for(timeout=30_000)
        page.wait_for_timeout(1500)  # let plotly finish its transitions
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name="Per-frame CSV").click()
        download = info.value
        assert download.suggested_filename == (
            f"emotion-session-{sid}-2026-11-23T10-55-00-detail.csv"
        )
        assert Path(download.path()).read_bytes() == report_csv(store, sid)
        browser.close()
    store.dispose()
