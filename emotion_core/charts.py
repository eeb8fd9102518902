"""Plotly figures of one session's analytics, in the app's emotion colours.

Every function takes already-computed tables from :mod:`emotion_core.analytics` (the
timeline ones take :func:`analytics.downsample` output, so a long session stays light
to draw) and returns a ``plotly.graph_objects.Figure``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from emotion_core.analytics import BANDS, VALENCE_AROUSAL, face_rows
from emotion_core.emotions import EMOTION_COLORS, LABELS

CONFIDENCE_BINS = 20
ITEM_COLORS = qualitative.D3  # one per compared session or face
BAND_COLORS = ("#2A9D8F", "#E9C46A", "#E76F51")  # high, medium, low
# fear and angry nearly coincide on the circumplex: label them on opposite sides.
_TEXT_POSITIONS = [
    {"fear": "top left", "angry": "top right", "neutral": "bottom right"}.get(e, "top center")
    for e in VALENCE_AROUSAL
]
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "legend": {"orientation": "h"}}


def _empty(title: str) -> go.Figure:
    fig = go.Figure().update_layout(title=title, **_LAYOUT)
    fig.add_annotation(text="No faces in this range", showarrow=False, font={"size": 16})
    return fig.update_xaxes(visible=False).update_yaxes(visible=False)


GAP_COLOR = "rgba(120,120,120,0.18)"
MARKER_COLOR = "#222222"


MOMENT_COLORS = {"sustained": "#264653", "change": "#E76F51", "unusual": "#9B2226"}
# Moments are drawn as bars below the probability areas, one row per kind.
MOMENT_Y = {"sustained": -0.05, "change": -0.1, "unusual": -0.15}


def timeline(
    binned: pd.DataFrame,
    face_id: int,
    markers: pd.DataFrame | None = None,
    gaps: pd.DataFrame | None = None,
    moments: pd.DataFrame | None = None,
    x_range: tuple[float, float] | None = None,
) -> go.Figure:
    """Stacked areas of the smoothed probabilities of one face over time, with a ribbon
    of the dominant emotion drawn above them, ``markers`` (t_rel, note) as labelled
    vertical lines, ``gaps`` (t_start, t_end, reason) as grey bands where the areas
    drop to nothing (a pause is not a face-less stretch) and this face's notable
    ``moments`` (:func:`moments.notable_moments`) as bars below the areas. ``x_range``
    (seconds) gives every face of a session the same time axis."""
    title = f"Emotion timeline, face {face_id}"
    data = binned[binned["face_id"] == face_id]
    if data.empty:
        return _empty(title)
    areas = _break_at_gaps(data, gaps)
    fig = go.Figure()
    for e in LABELS:
        fig.add_trace(
            go.Scatter(
                x=areas["t_rel"], y=areas[f"p_{e}"], name=e, stackgroup="p", mode="none",
                fillcolor=EMOTION_COLORS[e], hovertemplate="%{y:.2f}",
            )
        )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=data["t_rel"], y=[1.06] * len(data), mode="markers", name="dominant",
            marker={"color": [EMOTION_COLORS[d] for d in data["dominant"]], "symbol": "square",
                    "size": 9},
            text=data["dominant"], hovertemplate="%{text}", showlegend=False,
        )
    )  # fmt: skip
    fig.update_layout(title=title, hovermode="x unified", **_LAYOUT)
    if x_range is not None and x_range[1] > x_range[0]:
        fig.update_xaxes(range=list(x_range))
    fig.update_xaxes(ticksuffix=" s")  # a unit, not an axis title: the legend sits below
    _draw_gaps(fig, gaps)
    _draw_markers(fig, markers)
    low = _draw_moments(fig, moments, face_id)
    ticks = [0, 0.2, 0.4, 0.6, 0.8, 1]  # none below 0, where the moment bars sit
    return fig.update_yaxes(title="probability", range=[low, 1.1], tickvals=ticks)


def _draw_moments(fig: go.Figure, moments: pd.DataFrame | None, face_id: int) -> float:
    """One bar trace per kind (a few traces, however many moments); returns the y-axis
    floor that makes room for them."""
    mine = None if moments is None else moments[moments["face_id"] == face_id]
    if mine is None or mine.empty:
        return 0.0
    for kind, group in mine.groupby("kind"):
        x, text = [], []
        for m in group.itertuples():
            x += [m.start, m.end, None]
            text += [m.what, m.what, None]
        fig.add_trace(
            go.Scatter(
                x=x, y=[MOMENT_Y.get(str(kind), -0.05) if v is not None else None for v in x],
                mode="lines+markers",
                line={"color": MOMENT_COLORS.get(str(kind), "#555555"), "width": 7},
                marker={"size": 8},  # a change lasts a frame or two: still visible
                name=f"moment: {kind}", text=text, hovertemplate="%{text}",
            )
        )  # fmt: skip
    return min(MOMENT_Y.values()) - 0.05


def _break_at_gaps(data: pd.DataFrame, gaps: pd.DataFrame | None) -> pd.DataFrame:
    """Zero rows at each gap's edges, so the stacked areas do not bridge the gap."""
    if gaps is None or gaps.empty:
        return data
    edges = np.concatenate([gaps["t_start"].to_numpy(), gaps["t_end"].to_numpy()])
    zeros = pd.DataFrame({"t_rel": edges, **{f"p_{e}": 0.0 for e in LABELS}})
    return pd.concat([data, zeros], ignore_index=True).sort_values("t_rel", kind="stable")


def _draw_gaps(fig: go.Figure, gaps: pd.DataFrame | None) -> None:
    for gap in [] if gaps is None else gaps.itertuples():
        fig.add_vrect(
            x0=gap.t_start, x1=gap.t_end, fillcolor=GAP_COLOR, line_width=0,
            annotation_text=gap.reason, annotation_position="top left",
        )  # fmt: skip


def _draw_markers(fig: go.Figure, markers: pd.DataFrame | None) -> None:
    """Vertical lines with the note (plain text: Plotly escapes it) as a label."""
    for m in [] if markers is None else markers.itertuples():
        fig.add_vline(
            x=m.t_rel, line={"color": MARKER_COLOR, "dash": "dot", "width": 1},
            annotation_text=_plotly_text(m.note) or "marker", annotation_position="top",
            annotation_font_size=11,
        )  # fmt: skip


def _plotly_text(text: str) -> str:
    """Plotly renders a small HTML subset (<b>, <br>…) in annotations: escape it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def confidence_histogram(samples: pd.DataFrame, bands: pd.DataFrame) -> go.Figure:
    """Confidence distribution of each predicted emotion (stacked), with the bands and
    the share of rows in each. Counted here, so the browser gets 20 bars per label
    rather than every row of a long session."""
    faces = face_rows(samples)
    if faces.empty:
        return _empty("Confidence")
    fig = go.Figure()
    edges = np.linspace(0.0, 1.0, CONFIDENCE_BINS + 1)
    for label, group in faces.groupby("label"):
        counts, _ = np.histogram(group["confidence"].clip(0, 1), edges)
        fig.add_trace(
            go.Bar(
                x=(edges[:-1] + edges[1:]) / 2, y=counts, width=1 / CONFIDENCE_BINS,
                name=str(label), marker_color=EMOTION_COLORS.get(str(label), "#999999"),
            )
        )  # fmt: skip
    for (_, lo, hi), colour, share in zip(BANDS, BAND_COLORS, bands["share"]):
        fig.add_vrect(
            x0=max(lo, 0.0), x1=min(hi, 1.0), fillcolor=colour, opacity=0.15, line_width=0,
            annotation_text=f"{share:.0%}", annotation_position="top",
        )  # fmt: skip
    fig.update_layout(title="Confidence (band shares on top)", barmode="stack", **_LAYOUT)
    return fig.update_xaxes(range=[0, 1]).update_yaxes(title="rows")


def share_bar(shares: pd.Series) -> go.Figure:
    """Share of face rows per predicted emotion."""
    fig = go.Figure(
        go.Bar(
            x=shares.index, y=shares.values, marker_color=[EMOTION_COLORS[e] for e in shares.index],
            text=[f"{v:.0%}" for v in shares.values], textposition="outside",
        )
    )  # fmt: skip
    fig.update_layout(title="Emotion share", **_LAYOUT)
    return fig.update_yaxes(tickformat=".0%", range=[0, max(1e-9, shares.max()) * 1.2])


def transition_heatmap(matrix: pd.DataFrame) -> go.Figure:
    """Counts of dominant-emotion changes (from row to column)."""
    fig = go.Figure(
        go.Heatmap(
            z=matrix.values, x=matrix.columns, y=matrix.index, colorscale="Blues",
            text=matrix.values, texttemplate="%{text}", hovertemplate="%{y} → %{x}: %{z}",
            showscale=False,
        )
    )  # fmt: skip
    fig.update_layout(title="Transitions between dominant emotions", **_LAYOUT)
    return fig.update_xaxes(title="to").update_yaxes(title="from", autorange="reversed")


def valence_arousal_path(binned: pd.DataFrame, face_id: int) -> go.Figure:
    """The face's expected (valence, arousal) as a path coloured by time, with the
    circumplex position of every emotion."""
    title = f"Valence–arousal trajectory, face {face_id}"
    data = binned[binned["face_id"] == face_id]
    if data.empty:
        return _empty(title)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[v for v, _ in VALENCE_AROUSAL.values()], y=[a for _, a in VALENCE_AROUSAL.values()],
            mode="markers+text", text=list(VALENCE_AROUSAL), textposition=_TEXT_POSITIONS,
            marker={"size": 14, "color": [EMOTION_COLORS[e] for e in VALENCE_AROUSAL]},
            name="emotions", hoverinfo="text",
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=data["valence"], y=data["arousal"], mode="lines+markers", name="face",
            line={"color": "rgba(60,60,60,0.35)"},
            marker={"size": 5, "color": data["t_rel"], "colorscale": "Viridis",
                    "colorbar": {"title": "s"}},
            customdata=data["t_rel"], hovertemplate="t=%{customdata:.1f}s",
        )
    )  # fmt: skip
    fig.update_layout(title=title, showlegend=False, **_LAYOUT)
    fig.update_xaxes(title="valence", range=[-1, 1], zeroline=True)
    return fig.update_yaxes(title="arousal", range=[-1, 1], zeroline=True)


def live_timeline(table: pd.DataFrame, face_id: int) -> go.Figure:
    """The last minute of one face's smoothed probabilities, one line per emotion, from
    :meth:`LiveTimeline.table`; empty bins (a pause, the face out of view) are gaps."""
    data = table[table["face_id"] == face_id]
    fig = go.Figure()
    for e in LABELS:
        fig.add_trace(
            go.Scatter(
                x=data["t"], y=data[f"p_{e}"], name=e, mode="lines", connectgaps=False,
                line={"color": EMOTION_COLORS[e], "width": 2}, hovertemplate="%{y:.2f}",
            )
        )  # fmt: skip
    fig.update_layout(
        title=f"Last minute, face {face_id}", height=260, hovermode="x unified", **_LAYOUT
    )
    fig.update_xaxes(range=[-60, 0], ticksuffix=" s")
    return fig.update_yaxes(range=[0, 1], title="probability")


def compare_shares(table: pd.DataFrame) -> go.Figure:
    """Emotion shares of each compared item, grouped by emotion, one colour per emotion
    and one bar per item (named on hover)."""
    fig = go.Figure()
    for e in (*LABELS, "uncertain"):
        fig.add_trace(
            go.Bar(
                x=table["item"], y=table[f"share_{e}"], name=e,
                marker_color=EMOTION_COLORS.get(e, "#999999"), hovertemplate="%{y:.0%}",
            )
        )  # fmt: skip
    fig.update_layout(title="Emotion shares", barmode="stack", **_LAYOUT)
    return fig.update_yaxes(tickformat=".0%", range=[0, 1])


def compare_means(table: pd.DataFrame) -> go.Figure:
    """Mean valence and arousal of each item on the circumplex plane, with the
    emotions' positions for reference."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[v for v, _ in VALENCE_AROUSAL.values()], y=[a for _, a in VALENCE_AROUSAL.values()],
            mode="markers+text", text=list(VALENCE_AROUSAL), textposition=_TEXT_POSITIONS,
            marker={"size": 10, "color": [EMOTION_COLORS[e] for e in VALENCE_AROUSAL],
                    "opacity": 0.5},
            name="emotions", hoverinfo="text",
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=table["mean_valence"], y=table["mean_arousal"], mode="markers+text",
            text=table["item"], textposition="bottom center", name="items",
            marker={"size": 14, "symbol": "diamond", "color": "#222222"},
            customdata=table["mean_confidence"],
            hovertemplate="%{text}<br>valence %{x:.2f}, arousal %{y:.2f}<br>"
            "confidence %{customdata:.2f}",
        )
    )  # fmt: skip
    fig.update_layout(title="Mean valence and arousal", showlegend=False, **_LAYOUT)
    fig.update_xaxes(title="valence", range=[-1, 1], zeroline=True)
    return fig.update_yaxes(title="arousal", range=[-1, 1], zeroline=True)


def compare_timeline(timelines: pd.DataFrame, value: str, relative: bool) -> go.Figure:
    """One line per compared item of ``value`` (valence, arousal or confidence) on a
    shared time axis (seconds since each start, or percent of each duration)."""
    fig = go.Figure()
    for i, (item, data) in enumerate(timelines.groupby("item", sort=False)):
        colour = ITEM_COLORS[i % len(ITEM_COLORS)]  # distinct hues, not shades of one
        fig.add_trace(
            go.Scatter(x=data["t"], y=data[value], name=str(item), mode="lines",
                       line={"color": colour})
        )  # fmt: skip
    fig.update_layout(title=f"{value.capitalize()} over time", hovermode="x unified", **_LAYOUT)
    fig.update_xaxes(ticksuffix=" %" if relative else " s")
    low = 0.0 if value == "confidence" else -1.0
    return fig.update_yaxes(title=value, range=[low, 1])
