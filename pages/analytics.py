"""Session analytics page: history of recorded sessions, charts of one, CSV reports.

Composed from emotion_core.analytics / charts / report; the charts draw binned data
(at most analytics.MAX_BINS points per face), the reports carry every stored row.
"""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from emotion_core import analytics, charts, moments
from emotion_core.report import report_filename
from emotion_core.store import SessionInfo
from ui.history import (
    check_requested,
    format_duration,
    history_table,
    manage_session,
    pick_session,
)
from ui.resources import get_store, load_samples
from ui.routing import route_through_app
from ui.session_notes import show_markers, show_model, show_moments
from ui.signin import my_sessions, visibility_notice

MAX_FACE_CHARTS = 4  # per-face charts drawn for "All faces"
ALL = "All faces"


@st.cache_data(max_entries=4, show_spinner="Finding notable moments…")
def find_moments(db_url: str, session_id: int, rows: int) -> pd.DataFrame:
    """On the whole session (the baseline is the session's), cached like the samples."""
    store = get_store()
    return moments.notable_moments(store.load_samples(session_id), store.load_gaps(session_id))


def show_summary(part: pd.DataFrame) -> None:
    s = analytics.summarize(part)
    cols = st.columns(6)
    cols[0].metric("Duration", format_duration(s.duration_s))
    cols[1].metric("Frames analysed", f"{s.frames:,}")
    cols[2].metric("Frames with a face", f"{s.face_frame_share:.0%}")
    cols[3].metric("Dominant emotion", s.dominant or "–")
    conf = "–" if s.mean_confidence is None else f"{s.mean_confidence:.2f}"
    cols[4].metric("Mean confidence", conf)
    cols[5].metric("Uncertain", f"{s.uncertain_share:.0%}")


def time_range(samples: pd.DataFrame, session_id: int) -> tuple[float, float]:
    """Keyed per session: another session has another range."""
    t0, t1 = float(samples["t_rel"].min()), float(samples["t_rel"].max())
    if t1 <= t0:
        return t0, t1
    step = max(0.1, round((t1 - t0) / 1000, 1))
    return st.slider("Time range (seconds)", t0, t1, (t0, t1), step, key=f"range_{session_id}")


def show_charts(
    part: pd.DataFrame,
    faces: list[int],
    notes: tuple[pd.DataFrame, ...],
    t_range: tuple[float, float],
) -> None:
    """``notes``: the markers, gaps and moments drawn on each timeline."""
    binned = analytics.downsample(part)
    for face in faces[:MAX_FACE_CHARTS]:
        left, right = st.columns([3, 2])
        timeline = charts.timeline(binned, face, *notes, x_range=t_range)
        left.plotly_chart(timeline, key=f"timeline_{face}")
        right.plotly_chart(charts.valence_arousal_path(binned, face), key=f"va_{face}")
    if len(faces) > MAX_FACE_CHARTS:
        st.caption(f"Timelines of the first {MAX_FACE_CHARTS} faces; pick a face for others.")
    left, mid, right = st.columns(3)
    left.plotly_chart(charts.share_bar(analytics.emotion_shares(part)))
    mid.plotly_chart(charts.confidence_histogram(part, analytics.confidence_bands(part)))
    right.plotly_chart(charts.transition_heatmap(analytics.transitions(part)))


DOWNLOADS = {
    "detail": "Per-frame CSV",
    "summary": "Summary CSV",
    "markers": "Markers CSV",
    "moments": "Moments CSV",
}


def downloads(info: SessionInfo) -> None:
    for col, (kind, label) in zip(st.columns(len(DOWNLOADS)), DOWNLOADS.items()):
        col.download_button(
            label,
            partial(access.report_csv, info.id, kind=kind),  # built only when clicked
            report_filename(info, kind=kind),
            "text/csv",
            on_click="ignore",
            icon=":material/download:",
            key=f"download_{kind}",
        )


route_through_app()  # a direct link on a fresh server: see ui/routing.py
st.title("Session analytics")
access = my_sessions()  # this user's sessions only (an admin's: all); see emotion_core.access
store = access.store
visibility_notice(access.viewer)
check_requested(access)
sessions = access.list()
if not sessions:
    st.info(
        "No sessions yet: start the **Live** page or **Analyze media** — every analysed "
        "frame is recorded here as numbers (never pictures)."
    )
    st.page_link("pages/live.py", label="Go to Live", icon=":material/videocam:")
    st.page_link("pages/media.py", label="Analyze media", icon=":material/photo_library:")
    st.stop()

history_table(sessions)
info = pick_session(sessions)
manage_session(access, info)
show_model(info)
downloads(info)
markers, gaps = store.load_markers(info.id), store.load_gaps(info.id)
samples = load_samples(store.url, info.id, store.count_samples(info.id))
if samples.empty:
    st.info("This session has no analysed frames yet.")
    st.stop()

face_list = analytics.face_ids(samples)
pick = ALL
if len(face_list) > 1:
    pick = st.segmented_control(
        "Face",
        [ALL, *face_list],
        default=ALL,
        format_func=lambda f: f if f == ALL else f"Face {f}",
        key=f"face_{info.id}",
    )
face = None if pick in (ALL, None) else int(pick)
t_range = time_range(samples, info.id)
part = analytics.select(samples, t_range, face)
found = find_moments(store.url, info.id, len(samples))
found = found[(found["end"] >= t_range[0]) & (found["start"] <= t_range[1])]
found = found if face is None else found[found["face_id"] == face]
show_summary(part)
show_charts(part, face_list if face is None else [face], (markers, gaps, found), t_range)
show_moments(found)
show_markers(markers, gaps)
