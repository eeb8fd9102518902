"""End to end through the deployment's topology: a browser streams through nginx (the
compose file's configuration, deploy/nginx.conf.template) to one of two app processes;
the session lands in the shared PostgreSQL database and the other process lists it."""

from __future__ import annotations

import re
import time

import pytest
from harness import (
    CHROMIUM,
    WEBRTC_IFRAME,
    camera_flags,
    require_chromium,
    wait_for_rows,
    write_y4m,
)

from emotion_core.store import SessionStore

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

LOG_LINE = re.compile(  # the emotion_routed log_format of deploy/nginx.conf.template
    r'"(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d+) '
    r"upstream=(?P<upstream>\S+) route=(?P<route>\S+)"
)

# What a widget shows: its text and the values of its inputs (a selectbox's choice may be
# an input's value).
SHOWN_TEXT_JS = """el => el.innerText + ' ' + Array.from(el.querySelectorAll('input'))
  .map(i => i.value + ' ' + (i.getAttribute('aria-label') || '')).join(' ')"""


def routed_requests(access_log) -> list[dict[str, str]]:
    return [m.groupdict() for m in map(LOG_LINE.search, access_log.read_text().splitlines()) if m]


def websocket_logged(access_log) -> bool:
    """Streamlit's WebSocket went through nginx (101 Switching Protocols) and has closed."""
    return any(
        r["path"] == "/_stcore/stream" and r["status"] == "101" for r in routed_requests(access_log)
    )


def test_stream_through_nginx_lands_in_postgres_and_shows_on_the_other_process(
    topology, astronaut_bgr, tmp_path
):
    require_chromium()
    from playwright.sync_api import sync_playwright

    store = SessionStore(topology.db_url)
    cam = tmp_path / "face.y4m"
    write_y4m(cam, astronaut_bgr)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=camera_flags(cam))
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(topology.proxy_url)
        comp = page.frame_locator(WEBRTC_IFRAME)
        comp.get_by_role("button", name="Start", exact=True).click(timeout=120_000)
        session = wait_for_rows(store)
        if session is None:
            pytest.fail("no analysed frames reached the shared PostgreSQL database")
        sid = session.id
        comp.get_by_role("button", name="Stop", exact=True).click(timeout=120_000)
        deadline = time.time() + 30
        while time.time() < deadline and store.get_session(sid).status != "complete":
            time.sleep(0.5)
        assert store.get_session(sid).status == "complete"
        assert len(store.list_sessions()) == 1
        rows = store.load_samples(sid)
        assert rows["face_id"].notna().mean() > 0.9 and rows["label"].mode()[0] == "happy"
        context.close()  # ends the WebSocket: nginx logs it once it has closed
        deadline = time.time() + 30
        while time.time() < deadline and not websocket_logged(topology.access_log):
            time.sleep(0.5)

        # Sticky: once the browser had its routing cookie, every request (the WebSocket
        # that carried the stream's signalling included) went to one app process.
        routed = [r for r in routed_requests(topology.access_log) if r["route"] != "127.0.0.1"]
        assert {r["route"] for r in routed} and len({r["route"] for r in routed}) == 1, routed
        upstreams = {r["upstream"] for r in routed}
        assert len(upstreams) == 1, f"one browser's requests went to {upstreams}"
        assert any(r["path"] == "/_stcore/stream" and r["status"] == "101" for r in routed)
        holder = upstreams.pop()
        other = next(a for a in topology.apps if not a.url.endswith(holder))

        # The other process never saw this browser, yet lists the session (same database).
        viewer = browser.new_page(viewport={"width": 1280, "height": 900})
        viewer.goto(f"{other.url}/analytics")
        picker = viewer.locator('[data-testid="stSelectbox"]', has_text="Session to analyse").first
        picker.wait_for(timeout=120_000)
        deadline = time.time() + 60
        while time.time() < deadline and f"#{sid} ·" not in picker.evaluate(SHOWN_TEXT_JS):
            time.sleep(1)
        assert f"#{sid} ·" in picker.evaluate(SHOWN_TEXT_JS), picker.evaluate(SHOWN_TEXT_JS)
        browser.close()
    store.dispose()
