"""Model page: what the chosen CNN measured on held-out FER2013, and how it was trained.

Reads ``model_card.json`` and ``training_log.csv`` beside the model chosen in the
sidebar (default ``EMOTION_MODEL_PATH``); the numbers are written by ``python -m
emotion_core.evaluate``, and for a fine-tuned version by ``python -m
emotion_core.finetune`` (its before/after comparison).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from emotion_core import model_charts
from emotion_core.model_card import MODEL_CARD_NAME, load_card
from emotion_core.model_versions import (
    PUBLICTEST_WARN_POINTS,
    model_label,
    publictest_change,
    publictest_dropped,
)
from ui.resources import selected_model
from ui.routing import route_through_app
from ui.sidebar import model_picker

EVALUATE_COMMAND = (
    ".venv/bin/python -m emotion_core.evaluate --model {model} "
    "--data ../shared/datasets/fer2013 --out {folder}"
)
MODE_NAMES = {"plain": "plain", "tta": "with mirror TTA"}


def status_line(ev: dict) -> str:
    parts = [f"**{ev[m]['accuracy']:.1%}** {MODE_NAMES[m]}" for m in ("plain", "tta") if m in ev]
    return (
        f"Accuracy on {ev['split_name']} ({ev['images']:,} faces): {', '.join(parts)} · "
        f"`{ev['model_file']}` evaluated {ev['evaluated_at']}"
    )


def show_evaluation(ev: dict) -> None:
    st.markdown(status_line(ev))
    modes = [m for m in ("plain", "tta") if m in ev]
    mode = st.radio(
        "Predictions", modes, format_func=MODE_NAMES.get, horizontal=True, key="model_mode"
    )
    metrics = ev[mode]
    cols = st.columns(4)
    cols[0].metric("accuracy", f"{metrics['accuracy']:.1%}")
    cols[1].metric("macro-F1", f"{metrics['macro_f1']:.3f}")
    cols[2].metric("ECE (15 bins)", f"{metrics['ece']:.3f}")
    latency = ev.get("latency_ms") or {}
    if mode in latency:
        cols[3].metric("one face, median", f"{latency[mode]:.1f} ms")
        p10 = latency.get(f"{mode}_p10")
        st.caption(
            f"Latency: batch of one through LiteRT, {latency['runs']} calls"
            + (f", fastest tenth under {p10:.1f} ms" if p10 is not None else "")
            + f"; 1-min load average {latency['load_average_1min']} while measuring "
            "(medians grow when other work shares the CPU)."
        )
    left, right = st.columns(2)
    left.plotly_chart(model_charts.confusion_heatmap(metrics, "Confusion matrix (row share)"))
    right.dataframe(
        model_charts.metrics_table(metrics),
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.3f") for c in ("precision", "recall", "f1")
        },
    )
    left, right = st.columns(2)
    left.plotly_chart(model_charts.f1_bars(metrics))
    right.plotly_chart(model_charts.confidence_bands_chart(metrics))


def show_files_and_calibration(card: dict) -> None:
    calibration = card.get("calibration")
    if calibration:
        st.caption(
            f"Calibration: logits divided by a temperature of {calibration['temperature']:.2f} "
            f"fitted on {calibration['fitted_on']}; ECE there {calibration['ece_before']:.3f} "
            f"before, {calibration['ece_after']:.3f} after. The uncertainty threshold and the "
            "confidence bands rely on it."
        )
    smoothing = card.get("input_smoothing")
    if smoothing and smoothing.get("sigma"):
        tried = ", ".join(
            f"{float(sigma):g}: {r['accuracy']:.1%}" for sigma, r in smoothing["tried"].items()
        )
        st.caption(
            f"Input: the model blurs each face a little first (Gaussian, sigma "
            f"{smoothing['sigma']:g} px), because training resamples and so softens every "
            f"face; chosen on {smoothing['chosen_on']} (accuracy by sigma: {tried})."
        )
    if card.get("variants"):
        st.subheader("Model files")
        st.dataframe(
            model_charts.model_files_table(card),
            hide_index=True,
            column_config={"MB": st.column_config.NumberColumn(format="%.1f")},
        )
        st.caption("Same network, same evaluation; the int8 file is post-training quantized.")


def show_real_photos(card: dict) -> None:
    section = card.get("real_photos")
    st.subheader("On real photos")
    if not section:
        st.info("Not measured yet: run `benchmarks/bench_real_faces.py --card`.")
        return
    st.markdown(
        f"The whole photo path (face detector, crop, model) on {section['photos']:,} "
        f"labelled photos of real people ({section['data']}), largest face of each; a photo "
        "without a face counts as wrong. FER2013 accuracy alone cannot show whether the "
        "app frames live faces like the training faces. *this project* uses the photo "
        "default, mirror averaging (each face and its mirror image read and averaged); "
        "the live stream reads each face once."
    )
    st.dataframe(
        model_charts.real_photos_table(section),
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.3f")
            for c in ("face found", "accuracy", "macro recall")
        },
    )


BASELINES_COMMAND = (
    ".venv/bin/python -m emotion_core.baselines --data ../shared/datasets/fer2013 --out {folder}"
)


def show_baselines(card: dict, folder) -> None:
    st.subheader("Classical baselines")
    models = card.get("baselines", {}).get("models")
    if not models:
        st.info(
            "No classical baselines measured yet (PCA, HOG and LBP features with SVMs and "
            f"random forests). Run `{BASELINES_COMMAND.format(folder=folder)}` to compare."
        )
        return
    table = model_charts.baselines_table(card)
    st.markdown(model_charts.baselines_summary(table))
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            **{c: st.column_config.NumberColumn(format="%.3f") for c in ("accuracy", "macro-F1")},
            **{c: st.column_config.NumberColumn(format="%.2f") for c in ("ms/face", "MB")},
            "training s": st.column_config.NumberColumn(format="%.0f"),
        },
    )
    st.plotly_chart(model_charts.accuracy_vs_latency(table))
    section = card["baselines"]
    sample = f" on a sample (--limit {section['limit']})" if section.get("limit") else ""
    st.caption(
        f"Baselines measured{sample} on {section['test_images']:,} {section['test_split']} "
        f"faces, hyper-parameters chosen on a validation part of train/; "
        f"{section['hardware']}. Command: `{section['command']}`"
    )
    name = st.selectbox("Confusion matrix of", list(models), key="baseline_confusion")
    st.caption(models[name]["summary"])
    st.plotly_chart(model_charts.confusion_heatmap(models[name]["plain"], f"{name} (row share)"))


def show_fine_tune(section: dict) -> None:
    """A fine-tuned version: its parent, data and accuracy before and after."""
    st.subheader("Fine-tuned version")
    parent, data = section["parent"], section["data"]
    st.markdown(
        f"**{section['version']}**, fine-tuned from {parent['version']} "
        f"(`{parent['file']}`) on {data['user_train_faces']} of your faces "
        f"({data['user_holdout_faces']} more held out) and {data['rehearsal_faces']:,} "
        f"FER2013 rehearsal faces ({data['rehearsal']}); training took "
        f"{section['training_seconds']:.0f} s, made {section['created_at']}."
    )
    change = publictest_change(section)
    if publictest_dropped(section):
        st.warning(
            f"PublicTest accuracy dropped by {-change:.1f} points (more than "
            f"{PUBLICTEST_WARN_POINTS:.0f}): this version forgot part of what FER2013 "
            "taught. Use more rehearsal faces or fewer epochs, or keep the parent."
        )
    table = model_charts.finetune_table(section)
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="percent")
            for c in table.columns
            if c.startswith(("before", "after"))
        },
    )
    test = section.get("publictest", {})
    st.caption(
        f"Compared file: `{section['compared_file']}` against the parent's. PublicTest: "
        + (test.get("note", "") if test else "not measured")
        + ". Held-out faces: saved faces the fine-tune never trained on."
    )


def show_training(card: dict, folder) -> None:
    st.subheader("Training")
    training = card.get("training")
    if not training:
        st.info("The model card has no training section.")
        return
    facts = model_charts.training_facts(training, card.get("architecture", {}))
    st.table(pd.DataFrame({"": list(facts), "value": list(facts.values())}).set_index(""))
    if training.get("limits"):
        st.markdown("**Limits**\n" + "\n".join(f"- {line}" for line in training["limits"]))
    log_path = folder / "training_log.csv"
    if log_path.is_file():
        st.plotly_chart(model_charts.training_curve(pd.read_csv(log_path)))
    if card.get("status"):
        st.caption(f"Training status: {card['status']}")


route_through_app()  # a direct link on a fresh server: see ui/routing.py
model_picker()
model_file = selected_model()
folder = model_file.parent
card = load_card(folder / MODEL_CARD_NAME)

st.title("Model")
st.caption(f"{model_label(model_file)} · `{model_file}` · card `{folder / MODEL_CARD_NAME}`")
if card.get("fine_tune"):
    show_fine_tune(card["fine_tune"])
evaluation = card.get("evaluation")
if evaluation:
    show_evaluation(evaluation)
else:
    st.info(
        (
            "The fine-tune measured the accuracies above; for the per-emotion figures, "
            "confusion matrix and latency of this version, run the full evaluation:"
        )
        if card.get("fine_tune")
        else "This model has not been evaluated yet. Run the evaluation to fill in the "
        "accuracy, confusion matrix and calibration:"
    )
    st.code(EVALUATE_COMMAND.format(model=model_file, folder=folder), language="bash")
show_files_and_calibration(card)
show_real_photos(card)
show_training(card, folder)
show_baselines(card, folder)
