"""Who may see which session: the one access rule of the web app, the CLIs and the API.

A :class:`Viewer` is whoever is asking: a signed-in user of the web app, an API key's
owner, or, on a server without sign-in, anybody (:meth:`Viewer.anyone`). Sessions carry
an ``owner`` (``sessions.owner``): one namespace for both doors, so the API key of
``alice@lab.org`` sees exactly the sessions Alice records in the app. The rule: a viewer
sees a session it owns; an admin (and anybody, on a server without sign-in) sees every
session, including those without an owner (recorded before sign-in was configured).

:class:`SessionAccess` is the store as one viewer may use it: pages list, open, rename,
delete and download only through it, so none can forget the rule. A session the viewer
may not see raises :class:`NoSuchSession` with the same message as one that does not
exist, so ids cannot be probed.

Signed-in identity (:func:`identity`): the ID token's ``email`` (lower-cased), or its
``sub`` when there is no e-mail or the provider says the e-mail is not verified. The
e-mail is what people type into ``EMOTION_ADMINS``, ``--owner`` and API key owners, and
it is the same person across providers; ``sub`` is stable but opaque.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from emotion_core.report import report_csv
from emotion_core.store import SessionInfo, SessionStore

# Streamlit keeps the identity cookie this long after sign-in (st.login docs: 30 days).
STREAMLIT_COOKIE_MAX_AGE_S = 30 * 24 * 3600


class NoSuchSession(LookupError):
    """No session with that id that this viewer may see (one message for both cases)."""

    def __init__(self, session_id: object) -> None:
        # Only a plain number is echoed: the id may come from a URL, and the message is
        # shown as Markdown (a typed "![x](http://…)" must not become an image).
        shown = str(session_id).strip()
        label = f"session #{shown}" if shown.isdigit() and len(shown) < 20 else "such session"
        super().__init__(f"There is no {label}, or it is not yours.")
        self.session_id = session_id


@dataclass(frozen=True)
class Viewer:
    """Whoever is asking. ``owner`` is recorded on the sessions they make (None on a
    server without sign-in); ``sees_all`` lets them see every session (admins)."""

    owner: str | None
    sees_all: bool = False

    @classmethod
    def anyone(cls) -> Viewer:
        """A server without sign-in: every visitor sees every session, owns none."""
        return cls(owner=None, sees_all=True)

    def may_see(self, session_owner: str | None) -> bool:
        """Whether this viewer may open, rename, delete or download such a session."""
        return self.sees_all or (self.owner is not None and session_owner == self.owner)

    @property
    def owner_filter(self) -> str | None:
        """The owner to list sessions of, or None for every session."""
        return None if self.sees_all else self.owner


def owner_name(text: str) -> str:
    """An owner as compared and stored: stripped; an e-mail address lower-cased (what
    :func:`identity` gives), so ``--owner Alice@Lab.org`` finds Alice's sessions."""
    text = text.strip()
    return text.lower() if "@" in text else text


def identity(claims: Mapping[str, Any]) -> str:
    """The owner name of a signed-in user from the ID token's claims (see module doc).
    Raises ValueError when the token has neither a usable e-mail nor a subject."""
    email = owner_name(str(claims.get("email") or ""))
    if email and claims.get("email_verified") is not False:
        return email
    sub = str(claims.get("sub") or "").strip()
    if not sub:
        raise ValueError("the ID token has neither an e-mail address nor a subject (sub)")
    return sub


def parse_admins(value: str | Iterable[str] | None) -> frozenset[str]:
    """``EMOTION_ADMINS``: identities separated by commas or spaces (or a TOML list).
    E-mail addresses compare lower-cased, as :func:`identity` makes them."""
    items = value.replace(",", " ").split() if isinstance(value, str) else (value or ())
    return frozenset(owner_name(i) for i in items if i.strip())


def parse_max_age(value: str | float | None) -> float:
    """``EMOTION_SIGNIN_MAX_AGE_S``: seconds until a sign-in must be renewed; unset means
    Streamlit's cookie lifetime. A bad value raises ValueError naming the setting, since
    it usually comes from a hand-edited environment or secrets file."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return float(STREAMLIT_COOKIE_MAX_AGE_S)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(
            f"EMOTION_SIGNIN_MAX_AGE_S must be a number of seconds above 0 (e.g. 3600), "
            f"not {value!r}"
        )
    return seconds


@dataclass(frozen=True)
class SignInPolicy:
    """How the web app turns a signed-in user into a :class:`Viewer`: ``admins`` see
    every session; a sign-in older than ``max_age_s`` (from the ID token's ``iat``) has
    expired and must be renewed (default: as long as Streamlit keeps its cookie)."""

    admins: frozenset[str] = frozenset()
    max_age_s: float = STREAMLIT_COOKIE_MAX_AGE_S

    def __post_init__(self) -> None:
        if self.max_age_s <= 0:
            raise ValueError(f"the sign-in max age must be > 0 s, not {self.max_age_s}")

    def viewer(self, claims: Mapping[str, Any]) -> Viewer:
        owner = identity(claims)
        return Viewer(owner=owner, sees_all=owner in self.admins)

    def expires_at(self, claims: Mapping[str, Any]) -> float | None:
        """Unix time at which this sign-in expires; None if the token has no ``iat``."""
        iat = claims.get("iat")
        return None if iat is None else float(iat) + self.max_age_s

    def expired(self, claims: Mapping[str, Any], now: float | None = None) -> bool:
        end = self.expires_at(claims)
        return end is not None and (time.time() if now is None else now) >= end


class SessionAccess:
    """The session store as one :class:`Viewer` may use it. Every method that takes a
    session id raises :class:`NoSuchSession` for an id that does not exist, is not an
    integer, or belongs to someone the viewer may not see."""

    def __init__(self, store: SessionStore, viewer: Viewer) -> None:
        self.store, self.viewer = store, viewer

    def list(self) -> list[SessionInfo]:
        """The viewer's sessions (an admin's: all), newest first."""
        return self.store.list_sessions(owner=self.viewer.owner_filter)

    def get(self, session_id: object) -> SessionInfo:
        if isinstance(session_id, bool) or not isinstance(session_id, int | str):
            raise NoSuchSession(session_id)
        try:
            sid = int(session_id)
        except ValueError:
            raise NoSuchSession(session_id) from None
        info = self.store.get_session(sid)
        if info is None or not self.viewer.may_see(info.owner):
            raise NoSuchSession(session_id)
        return info

    def rename(self, session_id: object, name: str) -> None:
        self.store.rename_session(self.get(session_id).id, name)

    def delete(self, session_id: object) -> None:
        self.store.delete_session(self.get(session_id).id)

    def report_csv(self, session_id: object, kind: str = "detail") -> bytes:
        """The session's CSV (:func:`emotion_core.report.report_csv`), if the viewer may."""
        return report_csv(self.store, self.get(session_id).id, kind=kind)
