"""End to end: two browsers stream to one app process at the same time and never mix.

Chromium's fake camera belongs to its browser process, so the test launches two browsers
with two camera files: one head in the middle, and two heads side by side. Each stream's
rows can then be told apart by face count and position: each session must hold only its
own camera's faces, each page must show only its own stream's live numbers, and stopping
one stream must leave the other recording.

Positions are compared within a frame, not as pixels: on a starved CPU Chromium lowers the
camera's resolution mid-stream (640x480, then 480x360, 320x240), which also makes the
tracker start new face ids.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from functools import partial

import pandas as pd
import pytest
from harness import (
    ARTIFACTS,
    CHROMIUM,
    WEBRTC_IFRAME,
    camera_flags,
    heads_frame,
    require_chromium,
    write_y4m,
)

from emotion_core.store import SessionStore, sqlite_url

pytestmark = pytest.mark.e2e

MIN_ROWS = 30  # per session before the rows are compared (kept short: a starved CPU
# makes the browser drop a stream after ~40 s, docs/design.md)
FACE_LINE = re.compile(r"Face #(\d+): (\w+) \((\d+)%\)")  # the Live panel's face lines
SESSION_LINE = re.compile(r"Recording to session #(\d+)")


def wait_for(what: str, check: Callable[[], object], seconds: float = 240) -> object:
    """``check()``'s first truthy value, polled every second (generous: shared CPU)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def shown_session(page) -> int | None:
    found = SESSION_LINE.search(page.locator('[data-testid="stMain"]').inner_text())
    return int(found.group(1)) if found else None


def shown_faces(page) -> int:
    """How many faces the page's live panel lists right now."""
    return len(FACE_LINE.findall(page.locator('[data-testid="stMain"]').inner_text()))


def shown_frames(page) -> int:
    metric = page.locator('[data-testid="stMetric"]', has_text="Frames analysed").first
    return int(re.search(r"\d+", metric.inner_text().split("\n", 1)[1]).group())


def completed(store: SessionStore, session_id: int) -> bool:
    return store.get_session(session_id).status == "complete"


def faces_per_frame(rows: pd.DataFrame) -> pd.Series:
    return rows.groupby("frame_index")["face_id"].count()


def first_ids(rows: pd.DataFrame) -> set[int]:
    """The face ids of a session's first analysed frame."""
    return set(rows.loc[rows["frame_index"] == rows["frame_index"].min(), "face_id"])


def side_by_side(frame: pd.DataFrame) -> bool:
    """Two boxes of one frame at the same height, apart by more than a face width."""
    a, b = frame.sort_values("x").to_dict("records")
    return abs(a["y"] - b["y"]) < a["h"] / 4 and b["x"] - a["x"] > a["w"]


def test_two_browsers_stream_at_once_without_mixing(app_server, astronaut_bgr, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    url, db = app_server
    store = SessionStore(sqlite_url(db))
    with sync_playwright() as p:
        pages = {}
        for name, heads in (("one", 1), ("two", 2)):
            cam = tmp_path / f"{name}.y4m"
            write_y4m(cam, astronaut_bgr, layout=partial(heads_frame, count=heads))
            browser = p.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=camera_flags(cam)
            )
            pages[name] = browser.new_page(viewport={"width": 1280, "height": 900})
            pages[name].goto(url)
        for page in pages.values():  # both start before either is checked: they overlap
            start = page.frame_locator(WEBRTC_IFRAME).get_by_role("button", name="Start")
            start.click(timeout=120_000)

        sid = {
            n: wait_for(f"page {n}'s session", lambda pg=pg: shown_session(pg))
            for n, pg in pages.items()
        }
        assert sid["one"] != sid["two"], "both pages show the same session"
        wait_for(
            "rows in both sessions",
            lambda: all(store.count_samples(s) >= MIN_ROWS for s in sid.values()),
        )
        assert {s.id for s in store.list_sessions()} == set(sid.values())

        # The pages' live numbers: each lists its own camera's faces, never the other's ...
        for n, heads in (("one", 1), ("two", 2)):
            lists_them = partial(lambda pg, k: shown_faces(pg) == k, pages[n], heads)
            wait_for(f"page {n} listing {heads} face(s)", lists_them, 90)
        listed = {n: [] for n in pages}
        for _ in range(6):
            for n, page in pages.items():
                listed[n].append(shown_faces(page))
            time.sleep(1)
        ARTIFACTS.mkdir(exist_ok=True)
        for n, page in pages.items():
            page.screenshot(path=str(ARTIFACTS / f"two_browsers_{n}.png"))
        assert max(listed["one"]) <= 1 and max(listed["two"]) <= 2, listed
        # ... and counts only its own stream's frames (a shared counter would show the sum).
        frames = {n: shown_frames(pg) for n, pg in pages.items()}
        time.sleep(2)  # the recorder writes every 0.5 s
        for n, s in sid.items():
            stored = store.load_samples(s)["frame_index"].nunique()
            assert 0 < frames[n] <= stored + 5, (n, frames[n], stored)

        # The store's rows: one face vs two side by side, each stream with its own
        # tracker (both start at id 1).
        one, two = (store.load_samples(sid[n]) for n in ("one", "two"))
        assert (faces_per_frame(one) == 1).mean() > 0.95, faces_per_frame(one).value_counts()
        assert (faces_per_frame(two) == 2).mean() > 0.9, faces_per_frame(two).value_counts()
        assert faces_per_frame(one).max() == 1 and faces_per_frame(two).max() == 2
        assert first_ids(one) == {1} and first_ids(two) == {1, 2}
        pairs = two.groupby("frame_index").filter(lambda f: len(f) == 2)
        assert pairs.groupby("frame_index").apply(side_by_side).all()

        # Stopping one leaves the other streaming and recording.
        pages["one"].frame_locator(WEBRTC_IFRAME).get_by_role("button", name="Stop").click(
            timeout=120_000
        )
        wait_for("session one complete", lambda: completed(store, sid["one"]), 60)
        n_one, n_two = store.count_samples(sid["one"]), store.count_samples(sid["two"])
        time.sleep(5)
        assert store.count_samples(sid["one"]) == n_one
        assert store.count_samples(sid["two"]) > n_two + 10, "stream two stopped too"
        assert store.get_session(sid["two"]).status == "recording"
        assert shown_session(pages["two"]) == sid["two"]
        pages["two"].frame_locator(WEBRTC_IFRAME).get_by_role("button", name="Stop").click(
            timeout=120_000
        )
        wait_for("session two complete", lambda: completed(store, sid["two"]), 60)
        for page in pages.values():
            page.context.browser.close()
    store.dispose()
