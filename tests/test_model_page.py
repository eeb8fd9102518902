"""The Model page under Streamlit's AppTest, with model cards written by the test."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from emotion_core import model_charts
from emotion_core.emotions import LABELS, NUM_CLASSES
from emotion_core.metrics import compute_metrics
from emotion_core.model_card import MODEL_CARD_NAME, load_card, update_card

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "model.py")
SHIPPED_CARD = ROOT / "assets" / MODEL_CARD_NAME
SHIPPED_LOG = ROOT / "assets" / "training_log.csv"
TIMEOUT = 60


def plotly_array(value) -> np.ndarray:
    """A figure JSON array: plain lists, or plotly's typed-array form for numpy data."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return flat.reshape([int(n) for n in str(value.get("shape", len(flat))).split(",")])
    return np.asarray(value)


def toy_metrics(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, 200)
    probs = rng.dirichlet(np.ones(NUM_CLASSES) * 0.5, 200)
    probs[np.arange(100), labels[:100]] += 1.0  # half of them right
    return compute_metrics(labels, probs / probs.sum(axis=1, keepdims=True)).as_dict()


@pytest.fixture
def model_dir(tmp_path, monkeypatch) -> Path:
    """A model folder (no model file needed: the page only reads the card and the log)
    with the shipped card's training section and epoch log, and no evaluation yet."""
    card = load_card(SHIPPED_CARD)
    sections = {k: card[k] for k in ("architecture", "training", "status") if k in card}
    update_card(tmp_path / MODEL_CARD_NAME, **sections)
    shutil.copyfile(SHIPPED_LOG, tmp_path / "training_log.csv")
    monkeypatch.setenv("EMOTION_MODEL_PATH", str(tmp_path / "emotion_cnn.tflite"))
    return tmp_path


def add_evaluation(folder: Path) -> dict:
    evaluation = {
        "model_file": "emotion_cnn.tflite",
        "split": "test",
        "split_name": "PublicTest",
        "images": 200,
        "evaluated_at": "2026-11-23 10:00:00 UTC",
        "plain": toy_metrics(1),
        "tta": toy_metrics(2),
        "latency_ms": {"plain": 1.5, "tta": 2.1, "runs": 200, "batch": 1, "load_average_1min": 0.3},
    }
    update_card(folder / MODEL_CARD_NAME, evaluation=evaluation)
    return evaluation


def test_page_shows_status_metrics_and_charts_from_the_card(model_dir):
    ev = add_evaluation(model_dir)
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    status = next(m.value for m in at.markdown if "Accuracy on PublicTest" in m.value)
    assert f"{ev['plain']['accuracy']:.1%}" in status and f"{ev['tta']['accuracy']:.1%}" in status
    assert at.metric[0].value == f"{ev['plain']['accuracy']:.1%}"
    table = at.dataframe[0].value
    assert list(table["emotion"][: len(LABELS)]) == list(LABELS)
    assert table["support"].iloc[0] == ev["plain"]["per_class"]["angry"]["support"]
    charts = at.get("plotly_chart")
    assert len(charts) == 4  # confusion, F1 bars, confidence bands, training curve
    heatmap = json.loads(charts[0].proto.spec)["data"][0]
    assert np.allclose(plotly_array(heatmap["z"]).sum(axis=1), 1.0)  # share of true class
    f1 = json.loads(charts[1].proto.spec)["layout"]  # the macro-F1 line, named in the title
    assert f"macro-F1 {ev['plain']['macro_f1']:.3f}" in f1["title"]["text"]
    assert np.isclose(f1["shapes"][0]["y0"], ev["plain"]["macro_f1"])
    assert at.table, "training facts table missing"


def test_switching_to_tta_shows_the_tta_numbers(model_dir):
    ev = add_evaluation(model_dir)
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.radio(key="model_mode").set_value("tta").run()
    assert not at.exception
    assert at.metric[0].value == f"{ev['tta']['accuracy']:.1%}"


def test_page_without_evaluation_says_which_command_to_run(model_dir):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("not been evaluated" in i.value for i in at.info)
    assert "python -m emotion_core.evaluate" in at.code[0].value
    assert str(model_dir) in at.code[0].value
    assert len(at.get("plotly_chart")) == 1  # the training curve is still shown


def test_page_shows_model_files_calibration_real_photos_and_limits(model_dir):
    ev = add_evaluation(model_dir)
    int8 = {**ev, "model_file": "emotion_cnn_int8.tflite", "file_bytes": 1_900_000}
    real = {
        "data": "real-faces-dev",
        "photos": 100,
        "results": {
            "this project": {"face_found": 0.98, "accuracy": 0.61, "macro_recall": 0.55},
            "fer 25.10.3, FER() defaults": {
                "face_found": 0.80,
                "accuracy": 0.40,
                "macro_recall": 0.35,
            },
        },
    }
    calibration = {"temperature": 0.8, "fitted_on": "PublicTest", "ece_before": 0.05,
                   "ece_after": 0.01}  # fmt: skip
    training = {**load_card(model_dir / MODEL_CARD_NAME)["training"], "limits": ["Adults only."]}
    update_card(
        model_dir / MODEL_CARD_NAME,
        variants={int8["model_file"]: int8},
        real_photos=real,
        calibration=calibration,
        training=training,
        input_smoothing={
            "sigma": 0.4,
            "chosen_on": "the validation split (3589 faces), lowest log-loss",
            "tried": {
                "0.0": {"accuracy": 0.643, "log_loss": 0.98},
                "0.4": {"accuracy": 0.65, "log_loss": 0.97},
            },
        },
    )
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    files = next(d.value for d in at.dataframe if "file" in d.value)
    assert files["file"].tolist() == ["emotion_cnn.tflite (this card)", "emotion_cnn_int8.tflite"]
    assert files["MB"].iloc[1] == pytest.approx(1.9)
    photos = next(d.value for d in at.dataframe if "pipeline" in d.value)
    assert photos["accuracy"].tolist() == [0.61, 0.40]
    assert any("temperature of 0.80" in c.value for c in at.caption)
    assert any("sigma 0.4 px" in c.value and "0: 64.3%, 0.4: 65.0%" in c.value for c in at.caption)
    assert any("- Adults only." in m.value for m in at.markdown)


def test_page_renders_the_shipped_card(monkeypatch):
    monkeypatch.delenv("EMOTION_MODEL_PATH", raising=False)
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "Model"


def test_metrics_table_summary_rows():
    metrics = toy_metrics(3)
    table = model_charts.metrics_table(metrics).set_index("emotion")
    assert table.loc["macro average", "f1"] == pytest.approx(metrics["macro_f1"])
    assert table.loc["macro average", "recall"] == pytest.approx(table["recall"][:7].mean())
    micro = table.loc["accuracy (micro)", ["precision", "recall", "f1"]]
    assert micro.tolist() == pytest.approx([metrics["accuracy"]] * 3)


def add_baselines(folder: Path) -> dict:
    """A baselines section as `python -m emotion_core.baselines` writes it (two models)."""
    models = {
        name: {
            "summary": f"{name} summary",
            "train_images": 900,
            "training_seconds": 12.0,
            "file_bytes": 2_500_000,
            "latency_ms": {"plain": ms, "runs": 10, "batch": 1, "load_average_1min": 0.2},
            "plain": toy_metrics(seed),
        }
        for name, ms, seed in (("hog_linear_svm", 3.0, 4), ("hog_lbp_random_forest", 20.0, 5))
    }
    section = {"test_images": 200, "test_split": "PublicTest", "limit": 1000,
               "hardware": "AMD EPYC, 2 CPU cores", "models": models,
               "command": "python -m emotion_core.baselines --limit 1000"}  # fmt: skip
    update_card(folder / MODEL_CARD_NAME, baselines=section)
    return section


def test_page_compares_the_cnn_with_every_baseline(model_dir):
    ev = add_evaluation(model_dir)
    section = add_baselines(model_dir)
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any(h.value == "Classical baselines" for h in at.subheader)
    table = next(d.value for d in at.dataframe if "macro-F1" in d.value)
    assert table["model"].tolist() == [
        "CNN (emotion_cnn.tflite)", "hog_linear_svm", "hog_lbp_random_forest"
    ]  # fmt: skip
    assert table["accuracy"].iloc[0] == pytest.approx(ev["plain"]["accuracy"])
    assert table["ms/face"].tolist() == [1.5, 3.0, 20.0]
    assert any("The CNN is right on" in m.value for m in at.markdown)
    assert any("--limit 1000" in c.value for c in at.caption)
    scatter = json.loads(at.get("plotly_chart")[-2].proto.spec)
    assert scatter["layout"]["xaxis"]["type"] == "log"
    heatmap = json.loads(at.get("plotly_chart")[-1].proto.spec)["data"][0]
    first = section["models"]["hog_linear_svm"]["plain"]["confusion"]
    assert plotly_array(heatmap["customdata"]).tolist() == first
    at.selectbox(key="baseline_confusion").set_value("hog_lbp_random_forest").run()
    assert not at.exception
    heatmap = json.loads(at.get("plotly_chart")[-1].proto.spec)["data"][0]
    second = section["models"]["hog_lbp_random_forest"]["plain"]["confusion"]
    assert plotly_array(heatmap["customdata"]).tolist() == second


def test_page_without_baselines_says_plainly_how_to_measure_them(model_dir):
    add_evaluation(model_dir)
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    note = next(i.value for i in at.info if "No classical baselines" in i.value)
    assert "python -m emotion_core.baselines" in note and str(model_dir) in note
    assert not at.main.selectbox  # no baseline picker (the sidebar has the model picker)


def test_baselines_summary_names_the_best_classical_model():
    section_card = {"evaluation": {"model_file": "m.tflite", "plain": toy_metrics(1),
                                   "latency_ms": {"plain": 1.0}}}  # fmt: skip
    section_card["baselines"] = {"models": {
        "weak": {"plain": {**toy_metrics(2), "accuracy": 0.3}, "file_bytes": 1,
                 "training_seconds": 1, "train_images": 1, "latency_ms": None},
        "strong": {"plain": {**toy_metrics(3), "accuracy": 0.4}, "file_bytes": 1,
                   "training_seconds": 1, "train_images": 1, "latency_ms": {"plain": 2.0}},
    }}  # fmt: skip
    table = model_charts.baselines_table(section_card)
    text = model_charts.baselines_summary(table)
    assert "(strong, 40.0%" in text and "at 1.0 ms a face against 2.0 ms" in text
    assert len(model_charts.accuracy_vs_latency(table).data[0].x) == 2  # weak has no timing


def fine_tune_section(before: float, after: float) -> dict:
    """A card's fine_tune section as ``python -m emotion_core.finetune`` writes it."""
    return {
        "version": "ft-20261129-120000",
        "parent": {"file": "emotion_cnn_int8.tflite", "path": "assets/emotion_cnn_int8.tflite",
                   "version": "shipped", "sha256": "0" * 16},
        "compared_file": "emotion_cnn_int8.tflite",
        "data": {"user_train_faces": 40, "user_holdout_faces": 10, "rehearsal_faces": 2000,
                 "rehearsal": "2000 random faces of fer2013/train"},
        "training_seconds": 95.0,
        "holdout": {"faces": 10, "before": 0.3, "after": 0.8},
        "publictest": {"measured": True, "faces": 3589, "of": 3589, "note": "all faces",
                       "before": before, "after": after},
        "created_at": "2026-11-29 12:00:00",
    }  # fmt: skip


@pytest.mark.parametrize(("after", "warned"), [(0.575, True), (0.585, False)])
def test_the_model_page_warns_when_publictest_dropped_by_more_than_2_points(
    tmp_path, monkeypatch, after, warned
):
    version = tmp_path / "ft-20261129-120000"
    version.mkdir()
    update_card(version / MODEL_CARD_NAME, fine_tune=fine_tune_section(0.6, after))
    monkeypatch.setenv("EMOTION_MODEL_PATH", str(version / "emotion_cnn_int8.tflite"))
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "change (points)" in d.value)
    assert table["before (shipped)"].tolist() == [0.3, 0.6]
    assert table["after (this version)"].tolist() == [0.8, after]
    assert table["change (points)"].tolist() == [50.0, round(100 * (after - 0.6), 1)]
    assert any("PublicTest accuracy dropped by 2.5 points" in w.value for w in at.warning) == warned
    assert any("The fine-tune measured the accuracies above" in i.value for i in at.info)


def test_training_facts_of_a_model_trained_in_cycles_add_them_up():
    from emotion_core.model_charts import training_facts

    one = {"epochs_run": 12, "best_epoch": 12, "training_seconds": 600.0}
    assert training_facts(one, {})["epochs"] == "12 (best 12)"
    cycles = {**one, "cycles": [{"epochs": 10}, {"epochs": 12}], "total_training_seconds": 1800}
    facts = training_facts(cycles, {})
    assert facts["epochs"] == "10 + 12 in 2 cycles" and facts["training time"] == "30 min"
    assert "distilled from" not in facts and facts["channels per stage"] == "?"
    grown = training_facts(one, {"widths": [32, 80, 160, 320], "parameters": 2553639})
    assert grown["channels per stage"] == "32-80-160-320" and grown["parameters"] == "2,553,639"
    teachers = [{"path": f"c{i}.keras", "sha256": "0" * 64} for i in range(4)]
    distilled = training_facts({**one, "distilled_from": teachers, "distill_weight": 0.5}, {})
    assert distilled["distilled from"] == "4 trained models (0.5 of each target)"
    assert "then resumed with" not in facts
    resumed = training_facts({**one, "resumed_with": ["train --resume --epochs 14"]}, {})
    assert resumed["then resumed with"] == "train --resume --epochs 14"
