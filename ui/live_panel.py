"""The Live page's status panel, drawn from a :class:`LiveSnapshot` copy.

Kept apart from the page so it can be tested under Streamlit's AppTest, which cannot
run the WebRTC component itself (that path is covered by the browser test).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from emotion_core import charts
from emotion_core.emotions import EMOTION_COLORS
from emotion_core.live import LiveSnapshot
from emotion_core.live_timeline import main_face

MAIN = "Main face"
MIN_SELECTABLE_BINS = 10  # a face seen for under ~5 s of the minute is not offered


def render_live_panel(snap: LiveSnapshot, timeline: pd.DataFrame | None = None) -> None:
    """Counters, the current label of each face, the last minute's timeline (from
    :meth:`LiveSession.timeline`) and a running label histogram."""
    if not snap.streaming:
        if snap.session_id is not None:
            st.info(
                f"Session {snap.session_id} recorded {snap.frames_analysed} frames. "
                "Open Session analytics to explore it or download its CSV report."
            )
        return
    if snap.busy_every_n > 1:
        st.warning(
            f"Server busy: analysing 1 in {snap.busy_every_n} frames. The video stays "
            "smooth; labels update less often until the load drops.",
            icon=":material/speed:",
        )
    cols = st.columns(4)
    cols[0].metric("Frames analysed", snap.frames_analysed)
    cols[1].metric("FPS", f"{snap.fps:.0f}")
    cols[2].metric("Pipeline", f"{snap.pipeline_ms:.1f} ms")
    budget = snap.pipeline_ms * snap.fps / 10.0  # % of each frame interval spent analysing
    cols[3].metric("Frame budget used", f"{budget:.0f} %")
    if snap.faces:
        for face_id, label, conf in snap.faces:
            color = EMOTION_COLORS.get(label, "#888888")
            st.markdown(
                f"**Face #{face_id}**: "
                f"<span style='color:{color};font-weight:600'>{label}</span> ({conf:.0%})",
                unsafe_allow_html=True,
            )
    elif not snap.paused:
        st.write("No face in view.")
    if timeline is not None and not timeline.empty:
        _timeline(timeline)
    if snap.label_counts:
        st.plotly_chart(_label_counts_figure(snap.label_counts), key="live_counts")
    if snap.errors:
        st.warning(f"{snap.errors} frame(s) could not be analysed; see the server log.")


def _timeline(table: pd.DataFrame) -> None:
    """The live chart of the main face, or of the face picked in the selector."""
    seen = table.dropna().groupby("face_id").size()
    ids = sorted(int(f) for f in seen[seen >= MIN_SELECTABLE_BINS].index)
    pick = MAIN
    if len(ids) > 1:  # the key follows the faces, so a face that left resets the pick
        pick = st.segmented_control(
            "Timeline of",
            [MAIN, *ids],
            default=MAIN,
            format_func=lambda f: f if f == MAIN else f"Face #{f}",
            key="live_timeline_face_" + "-".join(map(str, ids)),
        )
    face = main_face(table) if pick in (MAIN, None) else int(pick)
    if face is not None:
        st.plotly_chart(charts.live_timeline(table, face), key="live_timeline")


def _label_counts_figure(counts: dict[str, int]) -> go.Figure:
    data = pd.Series(counts).sort_values()
    fig = go.Figure(
        go.Bar(
            x=data.values,
            y=data.index,
            orientation="h",
            marker_color=[EMOTION_COLORS.get(k, "#888888") for k in data.index],
        )
    )
    fig.update_layout(
        height=220, margin=dict(l=10, r=10, t=30, b=10), title="Labels this session (frames)"
    )
    return fig
