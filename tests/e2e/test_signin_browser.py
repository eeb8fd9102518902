"""Sign-in for real: oidc-provider-mock as the OpenID Connect provider, the app served
with a secrets file that points at it, and headless Chromium signing in as different
users in separate browser contexts (separate cookies).

Two users each see, open, download and delete only their own sessions, also when they
type another user's session id into the URL; an admin sees every session; a sign-in
that expires while the webcam streams stops the stream and keeps the session."""

from __future__ import annotations

import io
import re
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from harness import (
    ARTIFACTS,
    BROWSER_FLAGS,
    CHROMIUM,
    WEBRTC_IFRAME,
    camera_flags,
    require_chromium,
    run_app,
    run_oidc_provider,
    write_y4m,
)
from test_access import ADMIN, ALICE, BOB, owned

from emotion_core.access import NoSuchSession
from emotion_core.report import report_csv
from emotion_core.store import SessionStore, sqlite_url

pytestmark = pytest.mark.e2e

CAROL = "carol@lab.test"
SECRET = "bobs-private-name"  # in Bob's session name: must never reach Alice's page
HTML_NAME = f"<b>{SECRET}</b><img src=x onerror=\"document.title='pwned'\">"
LOAD_MS = 120_000  # a page can take a minute to load on the shared CPU
MAX_AGE_S = 90  # the expiry test's sign-in lifetime: sign in, start the stream, record


@pytest.fixture
def oidc(tmp_path):
    with run_oidc_provider(tmp_path) as provider:
        yield provider


def sign_in(browser, url: str, who: str):
    """A new browser context (its own cookies) signed in as ``who``; returns its page."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(url)
    page.get_by_role("button", name="Sign in").click(timeout=LOAD_MS)
    page.locator('input[name="sub"]').fill(who, timeout=LOAD_MS)  # the provider's page
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text("Signed in as").wait_for(timeout=LOAD_MS)
    assert who in page.get_by_test_id("stSidebar").inner_text()
    return page


def open_analytics(page, url: str, session: object = None) -> None:
    """Session analytics, optionally through a link to one session (``?session=``)."""
    query = "" if session is None else "?" + urllib.parse.urlencode({"session": session})
    page.goto(f"{url}/analytics{query}")
    page.get_by_text("Session analytics").first.wait_for(timeout=LOAD_MS)
    page.get_by_text("Session to analyse").wait_for(timeout=LOAD_MS)


@contextmanager
def evidence(pages: dict[str, object]) -> Iterator[None]:
    """On a failure, keep a screenshot and the text of every page (``test-artifacts/``)."""
    try:
        yield
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        for name, page in pages.items():
            try:
                page.screenshot(path=str(ARTIFACTS / f"signin_fail_{name}.png"), full_page=True)
                text = f"url: {page.url}\n{page.inner_text('body')}"
                (ARTIFACTS / f"signin_fail_{name}.txt").write_text(text)
            except Exception as exc:  # a closed page: keep going, the first error matters
                print(f"no evidence from {name}: {exc}")
        raise


def listed_sessions(page) -> list[int]:
    """The session ids the picker offers (the user's whole list)."""
    page.get_by_test_id("stSelectbox").first.click(timeout=LOAD_MS)
    page.get_by_role("option").first.wait_for(timeout=LOAD_MS)
    texts = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return [int(re.match(r"#(\d+)", t.strip()).group(1)) for t in texts]


def refused(page, sid: object) -> None:
    page.get_by_text(str(NoSuchSession(sid))).wait_for(timeout=LOAD_MS)


def test_two_users_see_only_their_own_sessions_and_an_admin_sees_all(oidc, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    db = tmp_path / "signin.db"
    store = SessionStore(sqlite_url(db))
    bob_sid = owned(store, BOB, HTML_NAME)
    old_sid = owned(store, None)  # recorded before sign-in was configured
    secrets = oidc.auth_secrets(tmp_path / "secrets.toml", EMOTION_ADMINS=ADMIN)
    env = {"EMOTION_DB_URL": sqlite_url(db)}
    options = ["--server.maxUploadSize", "1"]
    with run_app(tmp_path, env, secrets=secrets, options=options) as app, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_FLAGS)
        anonymous = browser.new_page()
        anonymous.goto(f"{app.url}/analytics")
        anonymous.get_by_role("button", name="Sign in").wait_for(timeout=LOAD_MS)
        assert anonymous.get_by_role("link", name="Session analytics").count() == 0
        assert "Session to analyse" not in anonymous.content()

        alice = sign_in(browser, app.url, ALICE)
        alice_sid = record_a_photo(alice, store, tmp_path)
        open_analytics(alice, app.url)
        assert listed_sessions(alice) == [alice_sid]
        alice.get_by_text("Only your own sessions are listed.").wait_for()
        check_download(alice, store, alice_sid)
        for forged in (bob_sid, old_sid, "![x](http://127.0.0.1:9/pixel.png)"):  # in the URL
            open_analytics(alice, app.url, forged)
            refused(alice, forged)
            assert listed_sessions(alice) == [alice_sid]
            assert SECRET not in alice.content() and alice.locator("img[alt=x]").count() == 0

        bob = sign_in(browser, app.url, BOB)
        with evidence({"bob": bob}):
            open_analytics(bob, app.url, alice_sid)
            refused(bob, alice_sid)
            assert listed_sessions(bob) == [bob_sid]
            box = bob.get_by_test_id("stSelectbox").first
            shown = box.inner_text() + " ".join(i.input_value() for i in box.locator("input").all())
            assert HTML_NAME in shown, shown  # as text: no <b>, no <img>, no script run
            assert bob.locator("img[src=x]").count() == 0 and bob.title() != "pwned"
            delete_shown_session(bob, store, bob_sid)
        assert store.get_session(alice_sid) is not None

        admin = sign_in(browser, app.url, ADMIN)
        open_analytics(admin, app.url)
        assert sorted(listed_sessions(admin)) == sorted([alice_sid, old_sid])
        admin.get_by_text("You are an admin").wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        admin.screenshot(path=str(ARTIFACTS / "signin_admin.png"))

        sign_out(alice)
        browser.close()
    store.dispose()


def record_a_photo(page, store: SessionStore, tmp_path: Path) -> int:
    """Through Analyze media: a file over the upload limit is refused with a message,
    then a real photo is saved as a session; returns its id (owned by the user)."""
    page.get_by_role("link", name="Analyze media").click(timeout=LOAD_MS)
    page.get_by_text("Files up to 1 MB").wait_for(timeout=LOAD_MS)
    big = tmp_path / "big.png"
    noise = np.random.default_rng(0).integers(0, 255, (1000, 1000, 3), np.uint8)
    cv2.imwrite(str(big), noise)  # ~3 MB: over the test server's 1 MB
    uploader = page.get_by_test_id("stFileUploader").first.locator('input[type="file"]')
    uploader.set_input_files(str(big))
    page.get_by_text(re.compile(r"File must be .* or smaller")).wait_for(timeout=30_000)
    photo = tmp_path / "astronaut.jpg"
    from skimage.data import astronaut

    cv2.imwrite(str(photo), cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR))
    uploader.set_input_files(str(photo))
    page.get_by_role("button", name="Save as session").click(timeout=LOAD_MS)
    saved = page.get_by_text(re.compile(r"saved as session #\d+"))
    saved.wait_for(timeout=LOAD_MS)
    sid = int(re.search(r"#(\d+)", saved.inner_text()).group(1))
    assert store.get_session(sid).owner == ALICE
    return sid


def check_download(page, store: SessionStore, sid: int) -> None:
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Per-frame CSV").click()
    data = Path(info.value.path()).read_bytes()
    assert data == report_csv(store, sid)
    assert set(pd.read_csv(io.BytesIO(data))["session_id"]) == {sid}


def delete_shown_session(page, store: SessionStore, sid: int) -> None:
    page.get_by_text("Rename or delete this session").click()
    page.get_by_text(f"Yes, delete session #{sid}").click()
    page.get_by_role("button", name="Delete session").click()
    page.get_by_text("No sessions yet").wait_for(timeout=LOAD_MS)  # it was the only one
    assert store.get_session(sid) is None


def sign_out(page) -> None:
    """Sign out: Streamlit clears its cookie and sends the user to the provider's end
    of session (the mock asks to confirm), which sends them back to the sign-in screen."""
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click(timeout=LOAD_MS)
    page.get_by_role("button", name="Sign in").wait_for(timeout=LOAD_MS)


def test_a_sign_in_expiring_mid_stream_stops_it_and_keeps_the_session(
    oidc, tmp_path, astronaut_bgr
):
    require_chromium()
    from playwright.sync_api import sync_playwright

    db = tmp_path / "expiry.db"
    store = SessionStore(sqlite_url(db))
    cam = tmp_path / "face.y4m"
    write_y4m(cam, astronaut_bgr)
    secrets = oidc.auth_secrets(tmp_path / "secrets.toml", EMOTION_SIGNIN_MAX_AGE_S=MAX_AGE_S)
    env = {"EMOTION_DB_URL": sqlite_url(db)}
    with run_app(tmp_path, env, secrets=secrets) as app, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=camera_flags(cam))
        page = sign_in(browser, app.url, CAROL)
        log = ARTIFACTS / "signin_expiry_browser.log"
        ARTIFACTS.mkdir(exist_ok=True)
        page.on("console", lambda m: log.open("a").write(f"console {m.type}: {m.text}\n"))
        page.on("framenavigated", lambda f: log.open("a").write(f"navigated: {f.url}\n"))
        with evidence({"carol": page}):
            expires = time.time() + MAX_AGE_S  # the token was issued a moment ago
            comp = page.frame_locator(WEBRTC_IFRAME)
            comp.get_by_role("button", name="Start").click(timeout=LOAD_MS)
            sid = recording_session(store, CAROL, until=expires - 10)
            note = page.get_by_text("Your sign-in has expired, so the camera stream was stopped")
            note.wait_for(timeout=(MAX_AGE_S + 60) * 1000)
            assert f"Session #{sid} was kept" in note.inner_text()
            assert page.locator(WEBRTC_IFRAME).count() == 0  # the stream is gone
            page.get_by_role("button", name="Sign in").wait_for()
            kept, rows = store.get_session(sid), store.count_samples(sid)
            assert kept.status == "incomplete" and kept.ended_at is not None and rows >= 10
            time.sleep(3)  # frames still in flight are not analysed and open no session
            assert store.count_samples(sid) == rows
            assert [s.id for s in store.list_sessions()] == [sid]
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "signin_expired.png"))
            # The cookie expiring (here: cleared) is what the server-side expiry stands for:
            # the next page load has no user, so the sign-in screen, without the note.
            page.context.clear_cookies()
            page.reload()
            page.get_by_role("button", name="Sign in").wait_for(timeout=LOAD_MS)
            again = sign_in(browser, app.url, CAROL)
            open_analytics(again, app.url)
            assert listed_sessions(again) == [sid]
        browser.close()
    store.dispose()


def recording_session(store: SessionStore, owner: str, until: float) -> int:
    """The id of ``owner``'s session once it holds 10 rows; fails at ``until``."""
    while time.time() < until:
        found = store.list_sessions(owner=owner)
        if found and store.count_samples(found[0].id) >= 10:
            return found[0].id
        time.sleep(1)
    pytest.fail("the stream recorded nothing before the sign-in expired")
