"""Session history widgets: the list of recorded sessions, picking one, rename, delete.

Every id these widgets act on comes from, or is checked by, the viewer's
:class:`~emotion_core.access.SessionAccess`: an id typed into the URL or planted in
the widget state is refused with the same message as a missing one.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from emotion_core.access import NoSuchSession, SessionAccess
from emotion_core.store import SessionInfo
from ui.resources import LAST_SESSION_KEY

PICK_KEY = "analytics_session"
SESSION_PARAM = "session"  # ?session=ID: a link to one session of Session analytics
LINKED_KEY = "analytics_linked"  # st.session_state: the ?session= value last handled
REFUSED_KEY = "analytics_refused"  # st.session_state: the refusal shown until a new pick


def format_duration(seconds: float) -> str:
    minutes, sec = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{sec:02d}" if hours else f"{minutes}:{sec:02d}"


def history_table(sessions: list[SessionInfo]) -> None:
    """The sessions, newest first, with the figures that tell them apart."""
    rows = [
        {
            "id": s.id,
            "name": s.name,
            "started": s.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            "duration": format_duration(s.duration_s),
            "source": s.source + (f" ({s.source_name})" if s.source_name else ""),
            "frames analysed": s.frames,
            "faces seen": s.faces,
            "dominant emotion": s.dominant or "–",
            "status": s.status,
        }
        for s in sessions
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, height=min(38 + 35 * len(rows), 260))


def check_requested(access: SessionAccess) -> None:
    """Refuse a session id the viewer may not open, from the link (``?session=ID``) or
    the picker's state: a "no such session" message that reveals nothing (the same for
    a missing id, a malformed one and another user's), and the request is dropped. A
    valid link preselects its session. The message stays until the user picks a session
    (reruns in between do not hide it)."""
    asked = st.query_params.get(SESSION_PARAM)
    if asked is not None and asked != st.session_state.get(LINKED_KEY):  # a new link
        st.session_state[LINKED_KEY] = asked
        try:
            st.session_state[PICK_KEY] = access.get(asked).id
        except NoSuchSession as exc:
            st.session_state[REFUSED_KEY] = str(exc)
            del st.query_params[SESSION_PARAM]
    picked = st.session_state.get(PICK_KEY)
    if picked is not None:
        try:
            access.get(picked)
        except NoSuchSession as exc:
            st.session_state[REFUSED_KEY] = str(exc)
            del st.session_state[PICK_KEY]
    if REFUSED_KEY in st.session_state:
        st.error(st.session_state[REFUSED_KEY], icon=":material/block:")


def check_picked_list(key: str, sessions: dict[int, SessionInfo]) -> None:
    """Drop the ids in a multiselect's state (``key``) that are not among the viewer's
    ``sessions``, with the same "no such session" message for each."""
    picked = st.session_state.get(key)
    if picked is None:
        return
    unknown = [i for i in picked if i not in sessions]
    for i in unknown:
        st.error(str(NoSuchSession(i)), icon=":material/block:")
    if unknown:
        st.session_state[key] = [i for i in picked if i in sessions]


def pick_session(sessions: list[SessionInfo]) -> SessionInfo:
    """A selectbox of the viewer's sessions; preselects the one another page just
    recorded (``st.session_state[LAST_SESSION_KEY]``), else the linked or last picked
    one, else the newest. The pick goes into the URL (``?session=ID``)."""
    by_id = {s.id: s for s in sessions}
    last = st.session_state.pop(LAST_SESSION_KEY, None)
    if last in by_id:
        st.session_state[PICK_KEY] = last
    elif st.session_state.get(PICK_KEY) not in by_id:
        st.session_state[PICK_KEY] = sessions[0].id
    sid = st.selectbox(
        "Session to analyse",
        list(by_id),
        key=PICK_KEY,
        format_func=lambda i: f"#{i} · {by_id[i].name} · {format_duration(by_id[i].duration_s)}",
        on_change=lambda: st.session_state.pop(REFUSED_KEY, None),  # a new pick
    )
    st.query_params[SESSION_PARAM] = st.session_state[LINKED_KEY] = str(sid)
    return by_id[sid]


def manage_session(access: SessionAccess, info: SessionInfo) -> None:
    """Rename, and delete after an explicit confirmation (removes every row of it)."""
    with st.expander("Rename or delete this session"):
        left, right = st.columns(2)
        name = left.text_input("New name", value=info.name, key=f"rename_{info.id}")
        if left.button("Rename", key=f"rename_btn_{info.id}"):
            try:
                access.rename(info.id, name)
                st.rerun()
            except (ValueError, NoSuchSession) as exc:
                left.error(str(exc))
        sure = right.checkbox(
            f"Yes, delete session #{info.id} and all its {info.frames:,} analysed frames",
            key=f"confirm_delete_{info.id}",
        )
        if right.button("Delete session", type="primary", disabled=not sure, key="delete_btn"):
            try:
                access.delete(info.id)
            except NoSuchSession as exc:
                right.error(str(exc))
                return
            st.session_state.pop(PICK_KEY, None)
            st.query_params.pop(SESSION_PARAM, None)
            st.toast(f"Session #{info.id} deleted.")
            st.rerun()
