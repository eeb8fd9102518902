"""Session history widgets: the list of recorded sessions, picking one, rename, delete."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from emotion_core.store import SessionInfo, SessionStore
from ui.resources import LAST_SESSION_KEY

PICK_KEY = "analytics_session"


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


def pick_session(sessions: list[SessionInfo]) -> SessionInfo:
    """A selectbox of the sessions; preselects the one another page just recorded
    (``st.session_state[LAST_SESSION_KEY]``), else the newest."""
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
    )
    return by_id[sid]


def manage_session(store: SessionStore, info: SessionInfo) -> None:
    """Rename, and delete after an explicit confirmation (removes every row of it)."""
    with st.expander("Rename or delete this session"):
        left, right = st.columns(2)
        name = left.text_input("New name", value=info.name, key=f"rename_{info.id}")
        if left.button("Rename", key=f"rename_btn_{info.id}"):
            try:
                store.rename_session(info.id, name)
                st.rerun()
            except ValueError as exc:
                left.error(str(exc))
        sure = right.checkbox(
            f"Yes, delete session #{info.id} and all its {info.frames:,} analysed frames",
            key=f"confirm_delete_{info.id}",
        )
        if right.button("Delete session", type="primary", disabled=not sure, key="delete_btn"):
            store.delete_session(info.id)
            st.session_state.pop(PICK_KEY, None)
            st.toast(f"Session #{info.id} deleted.")
            st.rerun()
