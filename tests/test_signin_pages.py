"""The pages with sign-in on, under AppTest: forged widget state, the sign-in screen, the
notices. AppTest cannot run an OpenID Connect sign-in, so these tests give ui.signin the
claims a signed-in user's cookie would carry; tests/e2e/test_signin_browser.py signs in
for real through a provider."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_access import ADMIN, ALICE, BOB, owned

import ui.signin
from emotion_core.access import NoSuchSession
from ui.history import PICK_KEY, SESSION_PARAM

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60


def signed_in(monkeypatch, email: str | None, iat: float | None = None) -> None:
    """Sign-in configured; ``email`` signed in (None: nobody) with a token issued at ``iat``."""
    claims = {"is_logged_in": False}
    if email is not None:
        claims = {"is_logged_in": True, "sub": f"sub-{email}", "email": email}
        claims["iat"] = time.time() if iat is None else iat
    monkeypatch.setattr(ui.signin, "signin_configured", lambda: True)
    monkeypatch.setattr(ui.signin, "_claims", lambda: dict(claims))
    monkeypatch.setenv("EMOTION_ADMINS", ADMIN)


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    return at.switch_page(f"pages/{name}.py")


@pytest.fixture
def sessions(db):
    """Alice's, Bob's (named with HTML) and an old session without an owner."""
    return owned(db, ALICE), owned(db, BOB, "<b>bold</b> =1+1"), owned(db, None)


def options(at: AppTest) -> list[int]:
    return list(at.selectbox(key=PICK_KEY).options)


def test_without_sign_in_every_session_is_listed_and_the_page_says_so(db, sessions):
    at = page("analytics").run()
    assert not at.exception
    assert "visible to everyone who can open it" in at.warning[0].value
    assert len(options(at)) == 3
    at = page("compare").run()
    assert "visible to everyone who can open it" in at.warning[0].value


def test_nobody_signed_in_gets_only_the_sign_in_screen(db, sessions, monkeypatch):
    signed_in(monkeypatch, None)
    at = page("analytics").run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.selectbox and not at.get("download_button")


def test_a_user_lists_only_their_sessions_and_sees_who_is_signed_in(db, sessions, monkeypatch):
    alice, _, _ = sessions
    signed_in(monkeypatch, ALICE)
    at = page("analytics").run()
    assert not at.exception and not at.error
    assert options(at) == [f"#{alice} · Webcam 2026-11-23 10:55:00 · 0:06"]
    assert "Only your own sessions" in at.caption[0].value
    assert any("`alice@lab.test`" in c.value for c in at.sidebar.caption)
    assert "Sign out" in [b.label for b in at.sidebar.button]


def test_a_forged_pick_in_widget_state_is_no_such_session(db, sessions, monkeypatch):
    alice, bob, old = sessions
    signed_in(monkeypatch, ALICE)
    for forged in (bob, old, 10**9, "1; DROP TABLE sessions"):
        at = page("analytics")
        at.session_state[PICK_KEY] = forged
        at.run()
        assert not at.exception
        assert at.error[0].value == str(NoSuchSession(forged))
        assert at.selectbox(key=PICK_KEY).value == alice  # falls back to her own
        shown = " ".join(str(e.value) for e in (*at.markdown, *at.caption, *at.metric))
        assert "bold" not in shown
    assert db.get_session(bob) is not None


def test_a_forged_link_is_no_such_session(db, sessions, monkeypatch):
    _, bob, _ = sessions
    signed_in(monkeypatch, ALICE)
    at = page("analytics")
    at.query_params[SESSION_PARAM] = str(bob)
    at.run()
    assert at.error[0].value == f"There is no session #{bob}, or it is not yours."


def test_forged_compare_picks_are_dropped(db, sessions, monkeypatch):
    alice, bob, _ = sessions
    signed_in(monkeypatch, ALICE)
    at = page("compare")
    at.session_state["compare_sessions"] = [alice, bob]
    at.run()
    assert not at.exception
    assert at.error[0].value == f"There is no session #{bob}, or it is not yours."
    assert at.multiselect(key="compare_sessions").value == [alice]


def test_an_admin_sees_every_session_and_html_names_stay_text(db, sessions, monkeypatch):
    signed_in(monkeypatch, ADMIN)
    at = page("analytics").run()
    assert not at.exception
    assert len(options(at)) == 3
    assert "admin" in at.caption[0].value
    bob = sessions[1]
    at.selectbox(key=PICK_KEY).set_value(bob).run()
    assert at.text_input(key=f"rename_{bob}").value == "<b>bold</b> =1+1"


def test_an_expired_sign_in_gets_the_sign_in_screen(db, sessions, monkeypatch):
    monkeypatch.setenv("EMOTION_SIGNIN_MAX_AGE_S", "60")
    signed_in(monkeypatch, ALICE, iat=time.time() - 61)
    at = page("analytics").run()
    assert not at.exception
    assert "expired" in at.warning[0].value
    assert [b.label for b in at.button] == ["Sign in"] and not at.selectbox


def test_a_malformed_sign_in_lifetime_stops_every_page_with_a_message(db, sessions, monkeypatch):
    monkeypatch.setenv("EMOTION_SIGNIN_MAX_AGE_S", "30 days")
    signed_in(monkeypatch, ALICE)
    at = page("analytics").run()
    assert not at.exception
    assert "EMOTION_SIGNIN_MAX_AGE_S" in at.error[0].value and "'30 days'" in at.error[0].value
    assert not at.selectbox  # fails closed: no session is listed
