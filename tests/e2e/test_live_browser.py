"""End to end: the app served locally, real headless Chromium with a fake webcam made
from the astronaut photo, START, frames analysed and recorded with the live timeline on
screen, Snapshot, Pause/Resume, Mark moment, STOP, screenshot."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from harness import (
    ARTIFACTS,
    CHROMIUM,
    WEBRTC_IFRAME,
    camera_flags,
    camera_frame,
    require_chromium,
    write_y4m,
)

from emotion_core.emotions import EMOTION_COLORS
from emotion_core.store import SessionStore, sqlite_url

pytestmark = pytest.mark.e2e


MEASURE_SECONDS = 30  # how long the sustained frame rate is measured
PAUSE_SECONDS = 4
FLUSH_SECONDS = 2.0  # the recorder writes every 0.5 s; leave it time to drain

# Reads the processed <video> element's current picture as RGB bytes.
GRAB_JS = """v => {
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d'); g.drawImage(v, 0, 0);
  return [c.width, c.height, Array.from(g.getImageData(0, 0, c.width, c.height).data)];
}"""


def colour_pixels(rgb: np.ndarray, hex_colour: str, tolerance: int = 40) -> int:
    """How many pixels lie within ``tolerance`` (per channel) of ``hex_colour``."""
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(rgb.astype(int) - target).max(axis=-1) < tolerance).sum())


def grab_video(comp) -> np.ndarray:
    w, h, data = comp.locator("video").first.evaluate(GRAB_JS)
    return np.array(data, np.uint8).reshape(h, w, 4)[:, :, :3]


def live_panel_metrics(page) -> dict[str, float]:
    """The Live page's status metrics (label -> number), as the user sees them."""
    metrics = {}
    for text in page.locator('[data-testid="stMetric"]').all_inner_texts():
        label, _, value = text.strip().partition("\n")
        number = re.search(r"[\d.]+", value)
        if number:
            metrics[label.strip()] = float(number.group())
    return metrics


def test_webcam_stream_is_analysed_recorded_and_stopped(app_server, astronaut_bgr, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    url, db = app_server
    cam = tmp_path / "face.y4m"
    write_y4m(cam, astronaut_bgr)
    flags = camera_flags(cam)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        comp = page.frame_locator(WEBRTC_IFRAME)
        comp.get_by_role("button", name="Start", exact=True).click(timeout=60_000)
        store = SessionStore(sqlite_url(db))
        deadline = time.time() + 150  # generous: CI machines are slow and shared
        rows = None
        while time.time() < deadline:
            sessions = store.list_sessions()
            if sessions and store.count_samples(sessions[0].id) >= 30:
                rows = store.load_samples(sessions[0].id)
                break
            time.sleep(1)
        assert rows is not None, "no analysed frames reached the session store"
        assert rows["face_id"].notna().mean() > 0.9  # a face in (nearly) every frame
        assert rows["label"].mode()[0] == "happy"
        # Sustained rate: analysed frames over a window once the stream has settled,
        # with the live timeline chart on screen and refreshing every second.
        page.locator(".gtitle", has_text="Last minute").first.wait_for(timeout=30_000)
        n0, t0 = store.count_samples(sessions[0].id), time.time()
        page.wait_for_timeout(MEASURE_SECONDS * 1000)
        rows = store.load_samples(sessions[0].id)
        recent = rows[rows["t_rel"] >= rows["t_rel"].max() - MEASURE_SECONDS]
        fps = recent["frame_index"].nunique() / MEASURE_SECONDS
        panel = live_panel_metrics(page)
        (ARTIFACTS / "e2e_live.json").write_text(
            json.dumps(
                {
                    "analysed_fps": round(fps, 1),
                    "rows_per_s_wall": round((len(rows) - n0) / (time.time() - t0), 1),
                    "camera_fps": 30,
                    "pipeline_ms": panel.get("Pipeline"),
                    "frame_budget_used_pct": panel.get("Frame budget used"),
                    "resolution": "640x480",
                    "cpu_count": os.cpu_count(),
                }
            )
        )
        print(f"analysed {fps:.1f} frames/s over the last {MEASURE_SECONDS} s; panel: {panel}")
        assert fps > 0
        # The processed video carries the overlay: the happy label's colour, which the
        # camera picture itself barely contains.
        colour = EMOTION_COLORS["happy"]
        shown = colour_pixels(grab_video(comp), colour)
        raw = colour_pixels(cv2.cvtColor(camera_frame(astronaut_bgr), cv2.COLOR_BGR2RGB), colour)
        assert shown > raw + 300, (shown, raw)
        # One timeline, not one per refresh. While a 1-second refresh of the panel is
        # being drawn on a loaded CPU, the old chart can still be on screen for a moment
        # (seen once in CI); a duplicate that stays is the failure.
        from playwright.sync_api import expect

        expect(page.locator(".gtitle", has_text="Last minute")).to_have_count(1, timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "live.png"))
        check_snapshot_pause_and_marker(page, store, sessions[0].id)
        comp.get_by_role("button", name="Stop", exact=True).click()
        deadline = time.time() + 20
        while time.time() < deadline and store.list_sessions()[0].status != "complete":
            time.sleep(0.5)
        assert store.list_sessions()[0].status == "complete"
        browser.close()
    # The rate (target >= 25 of the camera's 30) is a measurement, not an assertion: it
    # goes into test-artifacts/e2e_live.json and the README; shared CI cores would flake.


def check_snapshot_pause_and_marker(page, store: SessionStore, sid: int) -> None:
    """Snapshot gives a 640x480 PNG download; no rows while paused, rows again after
    Resume, the pause stored as a gap; Mark moment stores the marker and its note."""
    with page.expect_download(timeout=60_000) as info:  # one click, one PNG
        page.locator(".st-key-live_snapshot button").first.click(timeout=60_000)
    png = Path(info.value.path()).read_bytes()
    picture = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert png[:4] == b"\x89PNG" and picture.shape == (480, 640, 3)
    assert info.value.suggested_filename.endswith(".png")

    page.locator(".st-key-live_pause button").first.click()
    page.locator(".st-key-live_resume button").first.wait_for(timeout=30_000)
    page.wait_for_timeout(FLUSH_SECONDS * 1000)
    n_paused = store.count_samples(sid)
    page.wait_for_timeout(PAUSE_SECONDS * 1000)
    assert store.count_samples(sid) == n_paused, "rows were recorded while paused"
    page.locator(".st-key-live_resume button").first.click()
    page.locator(".st-key-live_pause button").first.wait_for(timeout=30_000)
    page.wait_for_timeout(FLUSH_SECONDS * 1000 + 1000)
    assert store.count_samples(sid) > n_paused + 10, "no rows after Resume"
    gaps = store.load_gaps(sid)
    assert list(gaps["reason"]) == ["paused"]
    assert gaps["t_end"].iloc[0] - gaps["t_start"].iloc[0] >= PAUSE_SECONDS

    page.locator(".st-key-live_marker_note input").fill("question 3")
    page.locator(".st-key-live_marker_note input").press("Enter")
    page.locator(".st-key-live_mark button").first.click()
    deadline = time.time() + 20
    while time.time() < deadline and store.load_markers(sid).empty:
        time.sleep(0.5)
    assert list(store.load_markers(sid)["note"]) == ["question 3"]
