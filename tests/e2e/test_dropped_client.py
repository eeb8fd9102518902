"""A viewer who vanishes (closed tab, killed browser, dead network) and one who stops.

Driven by the headless Live-page client (``benchmarks/webrtc_client.py``): it speaks
Streamlit's websocket protocol and WebRTC (aiortc) as the page's browser does, in its
own process, so killing that process with SIGKILL leaves the server exactly what a
closed tab leaves it: sockets that just go quiet.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import (
    ARTIFACTS,
    CHROMIUM,
    ROOT,
    WEBRTC_IFRAME,
    camera_flags,
    require_chromium,
    write_y4m,
)

from emotion_core.store import SessionStore, sqlite_url

pytestmark = pytest.mark.e2e

CLIENT = ROOT / "benchmarks" / "webrtc_client.py"
END_BOUND_S = 30  # the app ends a silent stream after 5 s; generous for a shared CI box


def client(url: str, log: Path, *args: str) -> subprocess.Popen:
    """The client process; its stderr goes to ``log`` (a pipe nobody reads could fill)."""
    with log.open("w") as err:
        return subprocess.Popen(
            [sys.executable, str(CLIENT), url, *args],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            cwd=ROOT,
        )


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_a_killed_client_ends_its_session_as_incomplete_and_keeps_its_rows(app_server, tmp_path):
    url, db = app_server
    store = SessionStore(sqlite_url(db))
    proc = client(url, tmp_path / "client.log", "--seconds", "600")
    try:
        assert json.loads(proc.stdout.readline())["event"] == "streaming"
        deadline = time.monotonic() + 150  # a cold, shared CI box analyses slowly at first
        while store.count_samples() < 10:
            assert time.monotonic() < deadline and proc.poll() is None, "no rows recorded"
            time.sleep(0.2)
        (session,) = store.list_sessions()
    finally:
        proc.kill()  # SIGKILL: no STOP, no goodbye, as when a tab or browser dies
        proc.communicate()
    killed = time.monotonic()
    rows_before = store.count_samples(session.id)
    while store.get_session(session.id).status == "recording":
        assert time.monotonic() - killed < END_BOUND_S, "the session was never ended"
        time.sleep(0.2)
    ended_after = time.monotonic() - killed
    assert store.get_session(session.id).status == "incomplete"
    rows = store.load_samples(session.id)
    assert len(rows) >= rows_before and rows["label"].mode()[0] == "happy"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "e2e_dropped_client.json").write_text(
        json.dumps({"ended_after_s": round(ended_after, 1), "frames": len(rows)})
    )


def test_the_client_streams_a_face_and_every_analysed_frame_is_stored(app_server, tmp_path):
    url, db = app_server
    store = SessionStore(sqlite_url(db))
    log = tmp_path / "client.log"
    proc = client(url, log, "--seconds", "5")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, log.read_text()[-2000:]
    started, summary = json_lines(out)
    assert started["event"] == "streaming" and summary["session_id"] is not None
    # Frames went out and came back processed, each identified by its index strip
    # (how many is the machine's speed: the figures are bench_load.py's business).
    assert summary["sent"] > summary["returned_distinct"] >= 1
    assert summary["latency_median_ms"] > 0 and summary["metrics"]["Frames analysed"]
    session = store.get_session(summary["session_id"])
    assert session.status == "complete"
    rows = store.load_samples(session.id)
    # The page's final count of analysed frames is exactly what the store holds.
    assert summary["page_frames_analysed"] == rows["frame_index"].nunique() >= 1
    assert rows["label"].mode()[0] == "happy"


def test_a_closed_browser_tab_ends_its_session_within_seconds(app_server, astronaut_bgr, tmp_path):
    """The real thing: headless Chromium streams its fake webcam, then the tab closes."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    url, db = app_server
    store = SessionStore(sqlite_url(db))
    cam = tmp_path / "face.y4m"
    write_y4m(cam, astronaut_bgr)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=camera_flags(cam))
        page = browser.new_page()
        page.goto(url)
        comp = page.frame_locator(WEBRTC_IFRAME)
        comp.get_by_role("button", name="Start", exact=True).click(timeout=60_000)
        deadline = time.monotonic() + 150
        while not (store.list_sessions() and store.count_samples() >= 30):
            assert time.monotonic() < deadline, "no analysed frames reached the store"
            time.sleep(0.5)
        (session,) = store.list_sessions()
        page.close()  # the tab, not the Stop button
        closed = time.monotonic()
        while store.get_session(session.id).status == "recording":
            assert time.monotonic() - closed < END_BOUND_S, "the session was never ended"
            time.sleep(0.2)
        ended_after = time.monotonic() - closed
        browser.close()
    ended = store.get_session(session.id)
    assert ended.status in ("complete", "incomplete")
    assert store.count_samples(session.id) >= 30  # nothing recorded was lost
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "e2e_closed_tab.json").write_text(
        json.dumps({"ended_after_s": round(ended_after, 1), "status": ended.status})
    )
