"""Plotly figures and tables for the Model page, built from the model card's dicts.

Kept out of the page (and free of Streamlit) so the page stays a thin layout file and
the charts can be built and checked without a server.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from emotion_core.emotions import EMOTION_COLORS, LABELS

BAND_LABELS = {"high": "> 0.8", "medium": "0.5 - 0.8", "low": "< 0.5"}
BAND_COLORS = {"high": "#2E7D32", "medium": "#F9A825", "low": "#C62828"}


def metrics_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """Per-class precision/recall/F1/support, then a macro row (unweighted mean over the
    classes present; its F1 is the card's macro-F1) and a micro row, where precision,
    recall and F1 all equal accuracy for single-label predictions."""
    rows = [{"emotion": label, **metrics["per_class"][label]} for label in LABELS]
    cm = np.asarray(metrics["confusion"])
    present = [r for r, seen in zip(rows, cm.sum(axis=0) + cm.sum(axis=1)) if seen > 0]
    n, acc = metrics["n"], metrics["accuracy"]
    macro = {k: sum(r[k] for r in present) / max(len(present), 1) for k in ("precision", "recall")}
    rows.append({"emotion": "macro average", **macro, "f1": metrics["macro_f1"], "support": n})
    rows.append({"emotion": "accuracy (micro)", "precision": acc, "recall": acc, "f1": acc})
    rows[-1]["support"] = n
    return pd.DataFrame(rows, columns=["emotion", "precision", "recall", "f1", "support"])


def confusion_heatmap(metrics: dict[str, Any], title: str = "") -> go.Figure:
    """Confusion matrix coloured by share of each true class (rows sum to 1); the hover
    shows the raw count, since rare classes (disgust: 56 faces) are unreadable in counts."""
    counts = np.asarray(metrics["confusion"], dtype=int)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig = go.Figure(
        go.Heatmap(
            z=share,
            x=list(LABELS),
            y=list(LABELS),
            customdata=counts,
            text=np.vectorize(lambda v: f"{v:.0%}")(share),
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            hovertemplate="true %{y}, predicted %{x}<br>%{customdata} faces (%{z:.1%} of %{y})"
            "<extra></extra>",
            colorbar={"title": "share of row", "tickformat": ".0%"},
        )
    )
    fig.update_layout(title=title, xaxis_title="predicted", yaxis_title="true", height=460)
    fig.update_yaxes(autorange="reversed")
    return fig


def f1_bars(metrics: dict[str, Any], title: str = "F1 per emotion") -> go.Figure:
    """One bar per emotion in its app-wide colour, with a dotted line at macro-F1 (named in
    the title: a label on the line would collide with the bars' values)."""
    f1 = [metrics["per_class"][label]["f1"] for label in LABELS]
    fig = go.Figure(
        go.Bar(
            x=list(LABELS),
            y=f1,
            marker_color=[EMOTION_COLORS[label] for label in LABELS],
            text=[f"{v:.2f}" for v in f1],
            textposition="inside",  # inside the bar's top, clear of the macro-F1 line
            insidetextanchor="end",
            hovertemplate="%{x}: F1 %{y:.3f}<extra></extra>",
        )
    )
    fig.add_hline(y=metrics["macro_f1"], line_dash="dot")
    title = f"{title} (dotted: macro-F1 {metrics['macro_f1']:.3f})"
    fig.update_layout(title=title, yaxis_range=[0, 1.05], yaxis_title="F1", height=360)
    return fig


def confidence_bands_chart(metrics: dict[str, Any]) -> go.Figure:
    """Share of faces per top-probability band, labelled with the accuracy inside it."""
    bands = metrics["bands"]
    names = list(BAND_LABELS)
    text = [
        "no faces" if bands[b]["accuracy"] is None else f"{bands[b]['accuracy']:.0%} correct"
        for b in names
    ]
    fig = go.Figure(
        go.Bar(
            x=[BAND_LABELS[b] for b in names],
            y=[bands[b]["share"] for b in names],
            marker_color=[BAND_COLORS[b] for b in names],
            text=text,
            textposition="outside",
            hovertemplate="confidence %{x}: %{y:.1%} of faces, %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Confidence bands (ECE {metrics['ece']:.3f})",
        xaxis_title="top probability",
        yaxis_title="share of faces",
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1.1],
        height=360,
    )
    return fig


def training_curve(log: pd.DataFrame) -> go.Figure:
    """Accuracy and loss per epoch (train vs validation), learning rate on hover."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("accuracy", "loss"))
    epoch = log["epoch"] + 1  # the log counts from 0
    for col, (name, colour) in enumerate((("accuracy", "#2E86AB"), ("loss", "#E4572E")), start=1):
        for prefix, dash in (("", "solid"), ("val_", "dot")):
            key = prefix + name
            if key not in log:
                continue
            fig.add_scatter(
                x=epoch,
                y=log[key],
                name=key,
                line={"color": colour, "dash": dash},
                customdata=log.get("lr"),
                hovertemplate="epoch %{x}: %{y:.4f}<br>lr %{customdata:.2e}<extra></extra>",
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(height=380, legend={"orientation": "h", "y": -0.3}, margin={"b": 90})
    return fig


def training_facts(training: dict[str, Any], architecture: dict[str, Any]) -> dict[str, str]:
    """The card's training facts as label -> text for a compact table. A model trained
    in several cycles (each a new schedule started from the last one's weights) shows
    the epochs of each and the time of all."""
    seconds = training.get("training_seconds")
    epochs = f"{training.get('epochs_run', '?')} (best {training.get('best_epoch', '?')})"
    if cycles := training.get("cycles"):
        seconds = training.get("total_training_seconds", seconds)
        epochs = " + ".join(str(c["epochs"]) for c in cycles) + f" in {len(cycles)} cycles"
    facts = {
        "epochs": epochs,
        "training time": f"{seconds / 60:.0f} min" if seconds else "?",
        "hardware": training.get("hardware", "?"),
        "precision": training.get("precision", "?"),
        "parameters": f"{architecture['parameters']:,}" if "parameters" in architecture else "?",
        "channels per stage": "-".join(map(str, architecture.get("widths", []))) or "?",
        "training images": str(training.get("train_images", "?")),
        "label smoothing": training.get("label_smoothing", "none"),
        "softmax temperature": architecture.get("temperature", 1.0),
        "finished": training.get("finished_at", "?"),
        "command": training.get("command", "?"),
    }
    if resumed_with := training.get("resumed_with"):
        facts["then resumed with"] = " ; ".join(resumed_with)
    if teachers := training.get("distilled_from"):
        weight = training.get("distill_weight", "?")
        facts["distilled from"] = f"{len(teachers)} trained models ({weight} of each target)"
    return {k: str(v) for k, v in facts.items()}


def model_files_table(card: dict[str, Any]) -> pd.DataFrame:
    """The evaluated model file and its variants (e.g. int8) side by side: size,
    accuracy and macro-F1 plain and with mirror TTA, ECE, and one-face latency."""
    evaluations = {}
    if "evaluation" in card:
        evaluations[card["evaluation"]["model_file"] + " (this card)"] = card["evaluation"]
    evaluations |= card.get("variants", {})
    rows = []
    for name, ev in evaluations.items():
        latency = ev.get("latency_ms") or {}
        row: dict[str, Any] = {"file": name, "MB": ev.get("file_bytes", float("nan")) / 1e6}
        for mode in ("plain", "tta"):
            if mode in ev:
                row[f"accuracy {mode}"] = ev[mode]["accuracy"]
                row[f"macro-F1 {mode}"] = ev[mode]["macro_f1"]
                row[f"ms/face {mode}"] = latency.get(mode)
        row["ECE"] = ev.get("plain", ev.get("tta", {})).get("ece")
        rows.append(row)
    return pd.DataFrame(rows)


def real_photos_table(section: dict[str, Any]) -> pd.DataFrame:
    """The whole photo path on real photos, one row per pipeline (ours, the fer package)."""
    rows = [
        {
            "pipeline": name,
            "face found": r["face_found"],
            "accuracy": r["accuracy"],
            "macro recall": r["macro_recall"],
            "seconds": r.get("seconds"),
        }
        for name, r in section["results"].items()
    ]
    return pd.DataFrame(rows)


def baselines_table(card: dict[str, Any]) -> pd.DataFrame:
    """The CNN (the card's evaluation, without TTA) and each classical baseline side by
    side: PublicTest accuracy and macro-F1, one-face latency, file size, training time."""
    rows = []
    ev, training = card.get("evaluation"), card.get("training", {})
    if ev and "plain" in ev:
        seconds = training.get("training_seconds")
        rows.append({
            "model": f"CNN ({ev['model_file']})",
            "accuracy": ev["plain"]["accuracy"],
            "macro-F1": ev["plain"]["macro_f1"],
            "ms/face": (ev.get("latency_ms") or {}).get("plain"),
            "MB": ev["file_bytes"] / 1e6 if "file_bytes" in ev else None,
            "training s": seconds,
            "training faces": training.get("train_images"),
        })  # fmt: skip
    for name, m in card.get("baselines", {}).get("models", {}).items():
        rows.append({
            "model": name,
            "accuracy": m["plain"]["accuracy"],
            "macro-F1": m["plain"]["macro_f1"],
            "ms/face": (m.get("latency_ms") or {}).get("plain"),
            "MB": m["file_bytes"] / 1e6,
            "training s": m["training_seconds"],
            "training faces": m["train_images"],
        })  # fmt: skip
    columns = ["model", "accuracy", "macro-F1", "ms/face", "MB", "training s", "training faces"]
    return pd.DataFrame(rows, columns=columns).astype({c: float for c in columns[1:6]})


def baselines_summary(table: pd.DataFrame) -> str:
    """One sentence on what the comparison means, from the table's own numbers."""
    cnn = table[table["model"].str.startswith("CNN")]
    others = table[~table["model"].str.startswith("CNN") & (table["model"] != "majority")]
    if others.empty:
        return "No classical model has been measured yet."
    best = others.loc[others["accuracy"].idxmax()]
    if cnn.empty:
        return (
            f"The best classical model is {best['model']} ({best['accuracy']:.1%}); the CNN "
            "has not been evaluated yet."
        )
    c = cnn.iloc[0]
    gap = (c["accuracy"] - best["accuracy"]) * 100
    text = (
        f"The CNN is right on {c['accuracy']:.1%} of the test faces, {abs(gap):.1f} points "
        f"{'above' if gap >= 0 else 'below'} the best classical model ({best['model']}, "
        f"{best['accuracy']:.1%}; macro-F1 {c['macro-F1']:.3f} against {best['macro-F1']:.3f})"
    )
    if pd.notna(c["ms/face"]) and pd.notna(best["ms/face"]):
        text += f", at {c['ms/face']:.1f} ms a face against {best['ms/face']:.1f} ms"
    return text + ": that gap is what the CNN's training cost buys."


def accuracy_vs_latency(table: pd.DataFrame) -> go.Figure:
    """Accuracy and macro-F1 of every model against its one-face time (log scale): the
    models up and to the left give more for less."""
    timed = table.dropna(subset=["ms/face"])
    fig = go.Figure()
    for metric, colour, symbol in (("accuracy", "#2E86AB", "circle"),
                                   ("macro-F1", "#E4572E", "diamond")):  # fmt: skip
        fig.add_scatter(
            x=timed["ms/face"],
            y=timed[metric],
            mode="markers+text",
            name=metric,
            text=timed["model"] if metric == "accuracy" else None,
            textposition="top center",
            marker={"color": colour, "symbol": symbol, "size": 11},
            customdata=timed["model"],
            hovertemplate=f"%{{customdata}}: {metric} %{{y:.3f}} at %{{x:.2f}} ms<extra></extra>",
        )
    fig.update_layout(
        title="Accuracy and macro-F1 against time per face",
        xaxis={"type": "log", "title": "ms per face (batch of one, log scale)"},
        yaxis={"title": "on the test split", "range": [0, 1]},
        height=420,
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def finetune_table(section: dict[str, Any]) -> pd.DataFrame:
    """A fine-tuned version's before/after accuracy (its card's ``fine_tune`` section):
    one row for the user's held-out faces, one for FER2013 PublicTest (empty figures
    when PublicTest was not measured)."""
    parent = section["parent"]["version"]
    holdout, test = section.get("holdout", {}), section.get("publictest", {})
    rows = [("your held-out faces", holdout), ("FER2013 PublicTest", test)]

    def change(part: dict[str, Any]) -> float | None:
        if part.get("before") is None or part.get("after") is None:
            return None
        return round(100.0 * (part["after"] - part["before"]), 1)

    return pd.DataFrame(
        {
            "faces": [part.get("faces") for _, part in rows],
            "measured on": [name for name, _ in rows],
            f"before ({parent})": [part.get("before") for _, part in rows],
            "after (this version)": [part.get("after") for _, part in rows],
            "change (points)": [change(part) for _, part in rows],
        }
    )
