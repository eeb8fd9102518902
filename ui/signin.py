"""Sign-in with Streamlit's built-in OpenID Connect: the only module that calls
``st.login`` / ``st.user`` / ``st.logout`` (a version-sensitive API, one adapter).

Sign-in is on when ``.streamlit/secrets.toml`` has an ``[auth]`` section (see
``.streamlit/secrets.example.toml``). Then every page sits behind :func:`viewer`: a
visitor who is not signed in, or whose sign-in has expired, gets the sign-in screen
and the script stops there. Without ``[auth]`` everybody is :meth:`Viewer.anyone`,
as before sign-in existed. The access rule itself lives in :mod:`emotion_core.access`.

Streamlit reads the identity cookie once, when the browser session starts, so a
running page cannot see the cookie go; expiry is therefore enforced here, from the ID
token's issue time (``iat``) and ``EMOTION_SIGNIN_MAX_AGE_S`` (default: Streamlit's
cookie lifetime, 30 days), on every script and fragment run.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from emotion_core.access import (
    SessionAccess,
    SignInPolicy,
    Viewer,
    parse_admins,
    parse_max_age,
)
from ui.resources import config, get_store

NOTE_KEY = "signin_note"  # st.session_state: why this user must sign in again


def signin_configured() -> bool:
    """Whether the secrets have an ``[auth]`` section (Streamlit's OIDC settings)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all
        return False


def policy() -> SignInPolicy:
    """Admins (``EMOTION_ADMINS``) and the sign-in lifetime (``EMOTION_SIGNIN_MAX_AGE_S``),
    from the environment or the secrets, like every other setting. A malformed lifetime
    stops the page with the setting named: sign-in fails closed, never open."""
    try:
        max_age_s = parse_max_age(config("EMOTION_SIGNIN_MAX_AGE_S"))
    except ValueError as exc:
        st.error(f"Sign-in is misconfigured: {exc}. Fix the setting and restart the app.")
        st.stop()
    return SignInPolicy(admins=parse_admins(config("EMOTION_ADMINS")), max_age_s=max_age_s)


def _claims() -> dict[str, Any]:
    return st.user.to_dict()


def signed_out() -> bool:
    """Whether sign-in is configured and nobody is signed in in this browser session (the
    app then hides its menu; an expired sign-in keeps it: changing the menu's position
    within a running session blanked the page in Chromium)."""
    return signin_configured() and not _claims().get("is_logged_in")


def signin_expired() -> bool:
    """Whether this browser session's user was signed in and the sign-in has expired
    (cheap: the Live panel asks every second)."""
    if not signin_configured():
        return False
    claims = _claims()
    return bool(claims.get("is_logged_in")) and policy().expired(claims)


def viewer() -> Viewer:
    """Who is using this browser session. With sign-in configured, a visitor who is not
    signed in (or whose sign-in has expired) gets the sign-in screen and the script
    stops here: call it before a page shows or records anything."""
    if not signin_configured():
        return Viewer.anyone()
    claims = _claims()
    rules = policy()
    if not claims.get("is_logged_in"):
        signin_screen()
    if rules.expired(claims):
        signin_screen(expired=True)
    try:
        return rules.viewer(claims)
    except ValueError as exc:  # a provider that sends neither e-mail nor sub
        st.error(f"Your sign-in cannot be used: {exc}. Ask the administrator.")
        st.stop()


def signin_screen(expired: bool = False) -> None:
    """The sign-in screen (the app shows nothing else), then stop the script."""
    st.title("Emotion analytics")
    note = st.session_state.get(NOTE_KEY)  # kept: another rerun must show it too
    if note:
        st.warning(note, icon=":material/logout:")
    elif expired:
        st.warning("Your sign-in has expired: sign in again to continue.")
    st.markdown(
        "Sign in to analyse your webcam, photos and videos and to see your recorded "
        "sessions. Each person sees only their own sessions."
    )
    if st.button("Sign in", type="primary", icon=":material/login:", key="signin"):
        st.login()
    st.stop()


def account_sidebar(who: Viewer) -> None:
    """Who is signed in, and Sign out (nothing without sign-in)."""
    if who.owner is None:
        return
    role = " (admin: sees every session)" if who.sees_all else ""
    name = who.owner.replace("`", "'")  # a code span: shown as typed, never a link
    st.sidebar.caption(f"Signed in as `{name}`{role}")
    if st.sidebar.button("Sign out", icon=":material/logout:", key="signout"):
        st.logout()


def my_sessions() -> SessionAccess:
    """The session store as this browser session's user may use it (stops at the
    sign-in screen when needed): pages list, open, change and download through it."""
    return SessionAccess(get_store(), viewer())


def visibility_notice(who: Viewer) -> None:
    """Say plainly who can see the sessions listed on this page."""
    if who.owner is None:
        st.warning(
            "Sign-in is not configured: every session on this server is visible to "
            "everyone who can open it (README: *Sign-in and private sessions*).",
            icon=":material/visibility:",
        )
    elif who.sees_all:
        st.caption(
            "You are an admin: every user's sessions are listed, and those recorded "
            "before sign-in was configured."
        )
    else:
        st.caption("Only your own sessions are listed.")
