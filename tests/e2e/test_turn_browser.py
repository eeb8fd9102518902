"""End to end through a TURN relay: the browser may use only relayed candidates
(``EMOTION_ICE_TRANSPORT_POLICY=relay``), so every frame reaches the app through a real
coturn configured by ``EMOTION_ICE_SERVERS``, as a browser behind NAT would."""

from __future__ import annotations

import json
import re

import pytest
from harness import (
    CHROMIUM,
    WEBRTC_IFRAME,
    camera_flags,
    free_port,
    require_chromium,
    require_coturn,
    run_app,
    wait_for_rows,
    write_y4m,
)

from emotion_core.store import SessionStore, sqlite_url
from scripts.topology import TurnServer, run_turnserver

pytestmark = pytest.mark.e2e


def test_stream_relayed_through_coturn(astronaut_bgr, tmp_path):
    require_chromium()
    require_coturn()
    from playwright.sync_api import sync_playwright

    turn = TurnServer(port=free_port(), username="emotion", password="relay-test")
    db = tmp_path / "turn.db"
    cam = tmp_path / "face.y4m"
    write_y4m(cam, astronaut_bgr)
    with run_turnserver(tmp_path / "turn", turn):
        env = {
            "EMOTION_DB_URL": sqlite_url(db),
            "EMOTION_ICE_SERVERS": json.dumps(turn.ice_servers()),
            "EMOTION_ICE_TRANSPORT_POLICY": "relay",
        }
        with run_app(tmp_path, env) as app, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=camera_flags(cam)
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(app.url)
            comp = page.frame_locator(WEBRTC_IFRAME)
            comp.get_by_role("button", name="Start", exact=True).click(timeout=120_000)
            store = SessionStore(sqlite_url(db))
            session = wait_for_rows(store)
            if session is None:
                pytest.fail("no frames arrived through the TURN relay: " + turn_log(tmp_path))
            assert store.load_samples(session.id)["label"].mode()[0] == "happy"
            comp.get_by_role("button", name="Stop", exact=True).click(timeout=120_000)
            browser.close()
            store.dispose()
        app_log = app.log.read_text(errors="replace")
    # The browser offered only relayed addresses (the app's log of the offer's
    # candidates), so its media could reach the app only through coturn, which granted
    # its allocations permission to send to the app. (coturn logs bytes relayed only
    # when an allocation ends, which Chromium does not always do on close: not checked.)
    offered = re.findall(r"Adding ICE candidate: RTCIceCandidate\((.*?)\)", app_log)
    assert offered and all("type='relay'" in c for c in offered), offered
    log = turn_log(tmp_path)
    assert "CREATE_PERMISSION processed, success" in log, log[-3000:]


def turn_log(tmp_path) -> str:
    return (tmp_path / "turn" / "turn.log").read_text(errors="replace")
