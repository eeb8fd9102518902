"""Compare sessions page: two or more sessions (or their faces) side by side.

Composed from emotion_core.compare and charts; one CSV of the comparison table.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from emotion_core import charts, compare
from ui.history import check_picked_list, format_duration
from ui.resources import load_samples
from ui.routing import route_through_app
from ui.signin import my_sessions, visibility_notice

AXES = {"seconds": False, "% of each session": True}
PICK_KEY = "compare_sessions"

route_through_app()  # a direct link on a fresh server: see ui/routing.py
st.title("Compare sessions")
access = my_sessions()  # this user's sessions only (an admin's: all); see emotion_core.access
store = access.store
visibility_notice(access.viewer)
sessions = {s.id: s for s in access.list()}
check_picked_list(PICK_KEY, sessions)
picked = st.multiselect(
    "Sessions to compare",
    list(sessions),
    default=list(sessions)[:2],
    format_func=lambda i: f"#{i} · {sessions[i].name} · {format_duration(sessions[i].duration_s)}",
    key=PICK_KEY,
)
per_face = st.toggle("Each face separately", key="compare_faces")
loaded = [(sessions[i], load_samples(store.url, i, store.count_samples(i))) for i in picked]
items = compare.make_items(loaded, per_face)
if len(items) < 2:
    st.info(
        "Pick two or more sessions, or one session with several faces and **Each face separately**."
    )
    st.stop()

table = compare.compare_table(items)
st.dataframe(
    table,
    hide_index=True,
    column_config={c: st.column_config.NumberColumn(format="%.2f") for c in table.columns
                   if c.startswith(("share_", "mean_")) or c.endswith(("_share", "_s"))},
)  # fmt: skip
stamp = datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
st.download_button(
    "Comparison CSV",
    compare.compare_csv(table),
    f"emotion-compare-{stamp}.csv",
    "text/csv",
    on_click="ignore",
    icon=":material/download:",
)
left, right = st.columns(2)
left.plotly_chart(charts.compare_shares(table))
right.plotly_chart(charts.compare_means(table))
axis = st.segmented_control("Time axis", list(AXES), default="seconds", key="compare_axis")
relative = AXES.get(axis or "seconds", False)
lines = compare.compare_timelines(items, relative)
for value in ("valence", "arousal", "confidence"):
    st.plotly_chart(charts.compare_timeline(lines, value, relative), key=f"compare_{value}")
if not relative and table["duration_s"].max() > 10 * max(table["duration_s"].min(), 1.0):
    st.caption("The sessions differ a lot in length: try the time axis in % of each session.")
