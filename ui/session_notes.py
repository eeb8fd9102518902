"""Session analytics sections beside the charts: model, markers, gaps, notable moments.

Notes and descriptions are shown as dataframe cells (plain text, never HTML).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from emotion_core.store import SessionInfo
from ui.history import format_duration

MOMENTS_METHOD = (
    "**How moments are found.** Each face's smoothed probabilities are read in time "
    "order, never across a pause or a stretch of more than 1 s without the face. "
    "*Sustained*: one emotion other than neutral stays dominant for at least 5 s "
    "(strength: its mean probability). *Change*: the dominant emotion switches from "
    "one run held for at least 2 s to another within 1 s, or the valence moves by at "
    "least 0.5 within 1 s (strength: the valence step over its largest possible "
    "size, at least 0.3 for a switch). *Unusual*: the face's valence, averaged over "
    "1 s, stays at least 2 standard deviations from that face's own mean over the "
    "session for at least 3 s (strength: mean distance in SD / 4, capped at 1). The "
    "baseline is each face's own session, not a norm across people."
)


def show_model(info: SessionInfo) -> None:
    if info.model_file:
        st.caption(f"Model: `{info.model_file}` · SHA-256 `{info.model_hash}`")
    else:
        st.caption("Model: not recorded (a session from before model tracking).")


def show_markers(markers: pd.DataFrame, gaps: pd.DataFrame) -> None:
    """The markers as a table, and how long the session was paused / not recorded."""
    st.subheader("Markers")
    if markers.empty:
        st.caption("No markers: press **Mark moment** on the Live page while recording.")
    else:
        table = markers.assign(time=markers["t_rel"].map(format_duration))
        st.dataframe(table[["time", "t_rel", "note"]], hide_index=True, key="markers_table")
    for reason, group in gaps.groupby("reason"):
        total = float((group["t_end"] - group["t_start"]).sum())
        st.caption(f"{reason.capitalize()}: {len(group)} time(s), {format_duration(total)}.")


def show_moments(found: pd.DataFrame) -> None:
    """The notable moments (already filtered to the selected range and face)."""
    st.subheader("Notable moments")
    if found.empty:
        st.caption("None in this range.")
    else:
        st.dataframe(
            found.sort_values("strength", ascending=False, kind="stable"),
            hide_index=True,
            key="moments_table",
            column_config={
                "start": st.column_config.NumberColumn("start (s)", format="%.1f"),
                "end": st.column_config.NumberColumn("end (s)", format="%.1f"),
                "strength": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0),
            },
        )
    with st.expander("How are moments found?"):
        st.markdown(MOMENTS_METHOD)
