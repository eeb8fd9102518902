"""The classical baselines through their real command, on a labelled set made here:
seven classes of synthetic stripe patterns (no FER2013 needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import joblib
import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from emotion_core import baselines, evaluate
from emotion_core.baseline_model import BaselineClassifier, SoftmaxDecision
from emotion_core.baseline_registry import BASELINES
from emotion_core.emotions import LABELS, NUM_CLASSES
from emotion_core.features import HogFeatures, LbpHistograms, PixelVector
from emotion_core.model_card import MODEL_CARD_NAME, load_card
from emotion_core.preprocessing import to_model_input

TRAIN_PER_CLASS, TEST_PER_CLASS = 30, 10
CHANCE = 1 / NUM_CLASSES
# Distinct patterns: every real model must do far better than guessing.
BEATS_CHANCE = 2 * CHANCE
# The same saved model on the same faces through evaluate: identical up to float noise.
SAME_ACCURACY = 1e-9


def pattern(c: int, rng: np.random.Generator) -> np.ndarray:
    """A noisy grating whose orientation and frequency depend on the class ``c``."""
    yy, xx = np.mgrid[0:48, 0:48].astype(float)
    angle = np.pi * c / NUM_CLASSES
    cycles = 3 + c % 3
    wave = np.sin(2 * np.pi * cycles * (xx * np.cos(angle) + yy * np.sin(angle)) / 48)
    face = 128 + 70 * wave + rng.normal(0, 25, (48, 48)) + rng.uniform(-20, 20)
    return np.clip(face, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def stripes(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stripes")
    rng = np.random.default_rng(11)
    for split, n in (("train", TRAIN_PER_CLASS), ("test", TEST_PER_CLASS)):
        for c, label in enumerate(LABELS):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                cv2.imwrite(str(folder / f"{i}.png"), pattern(c, rng))
    return root


@pytest.fixture(scope="module")
def table(stripes, tmp_path_factory) -> Path:
    """Every baseline trained once through the command; returns its --out folder."""
    out = tmp_path_factory.mktemp("out")
    argv = ["--data", str(stripes), "--out", str(out), "--models-dir", str(out / "models"),
            "--limit", "1000", "--jobs", "1", "--latency-runs", "4"]  # fmt: skip
    assert baselines.main(argv) == 0
    return out


@pytest.mark.parametrize("name", [n for n in BASELINES if n != "majority"])
def test_each_baseline_beats_chance_and_records_its_evaluation(table, name):
    section = load_card(table / MODEL_CARD_NAME)["baselines"]
    assert section["test_images"] == TEST_PER_CLASS * NUM_CLASSES
    m = section["models"][name]
    assert m["plain"]["accuracy"] > BEATS_CHANCE
    assert np.sum(m["plain"]["confusion"]) == TEST_PER_CLASS * NUM_CLASSES
    assert set(m["plain"]["per_class"]) == set(LABELS)
    assert m["latency_ms"]["plain"] > 0 and m["latency_ms"]["batch"] == 1
    assert m["file_bytes"] == Path(m["model_file"]).stat().st_size
    assert m["training_seconds"] >= 0 and len(m["validation"]) >= 1
    assert m["chosen_params"] in [t["params"] for t in m["validation"]]
    assert "python -m emotion_core.baselines" in m["command"]


def test_the_majority_floor_is_at_chance_on_balanced_classes(table):
    m = load_card(table / MODEL_CARD_NAME)["baselines"]["models"]["majority"]
    assert m["plain"]["accuracy"] == pytest.approx(CHANCE)


@pytest.mark.parametrize("name", ["hog_linear_svm", "hog_lbp_random_forest"])
def test_a_saved_baseline_evaluates_like_the_cnn(table, stripes, tmp_path, name):
    entry = load_card(table / MODEL_CARD_NAME)["baselines"]["models"][name]
    argv = ["--model", entry["model_file"], "--data", str(stripes), "--out", str(tmp_path),
            "--latency-runs", "4"]  # fmt: skip
    assert evaluate.main(argv) == 0
    ev = load_card(tmp_path / MODEL_CARD_NAME)["evaluation"]
    assert ev["model_file"] == f"{name}.joblib"
    assert ev["plain"]["accuracy"] == pytest.approx(entry["plain"]["accuracy"], abs=SAME_ACCURACY)
    assert ev["tta"]["accuracy"] > BEATS_CHANCE
    assert (tmp_path / "confusion_matrix.png").is_file()


def test_only_reruns_one_baseline_and_keeps_the_others(table, stripes, tmp_path):
    shutil.copy(table / MODEL_CARD_NAME, tmp_path / MODEL_CARD_NAME)
    before = load_card(tmp_path / MODEL_CARD_NAME)["baselines"]["models"]
    argv = ["--data", str(stripes), "--out", str(tmp_path), "--models-dir", str(tmp_path),
            "--limit", "1000", "--latency-runs", "0", "--only", "majority"]  # fmt: skip
    assert baselines.main(argv) == 0
    after = load_card(tmp_path / MODEL_CARD_NAME)["baselines"]["models"]
    assert list(after) == list(before)
    assert after["hog_linear_svm"] == before["hog_linear_svm"]
    assert after["majority"]["latency_ms"] is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--data", "no/such/folder"], "data folder not found"),
        (["--only", "no_such_baseline"], "invalid choice"),
        (["--limit", "3"], "--limit must be at least"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path, capsys, argv, message):
    assert baselines.main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / MODEL_CARD_NAME).exists()


def test_a_file_that_is_not_a_baseline_is_refused_with_a_message(stripes, tmp_path, capsys):
    joblib.dump({"not": "a model"}, tmp_path / "dict.joblib")
    (tmp_path / "junk.joblib").write_bytes(b"not a pickle")
    for name, message in (("dict.joblib", "not a classifier"), ("junk.joblib", "not a saved")):
        argv = ["--model", str(tmp_path / name), "--data", str(stripes), "--out", str(tmp_path)]
        assert evaluate.main(argv) == 2
        assert message in capsys.readouterr().err


def test_features_have_the_documented_sizes_and_refuse_other_input():
    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48), np.uint8)
    assert HogFeatures().transform(faces).shape == (3, 7 * 7 * 36)
    lbp = LbpHistograms().transform(faces[..., None])
    assert lbp.shape == (3, 36 * 10)
    assert np.allclose(lbp.reshape(3, 36, 10).sum(axis=2), 1.0)  # one histogram per cell
    assert PixelVector().transform(faces).max() <= 1.0
    with pytest.raises(ValueError, match="uint8 faces"):
        HogFeatures().transform(faces.astype(float))


def test_softmax_decision_keeps_every_prediction_and_sums_to_one():
    rng = np.random.default_rng(1)
    x = HogFeatures().transform(np.stack([pattern(c % 3, rng) for c in range(90)]))
    y = np.arange(90) % 3
    svm = LinearSVC(C=0.05).fit(x[:60], y[:60])
    calibrated = SoftmaxDecision(svm).fit(x[60:], y[60:])
    probs = calibrated.predict_proba(x)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert np.array_equal(calibrated.predict(x), svm.predict(x))
    assert calibrated.temperature > 0


def test_a_class_missing_from_training_gets_probability_zero():
    """Small samples can miss disgust: the adapter still returns all seven columns."""
    rng = np.random.default_rng(2)
    faces = np.stack([pattern(c, rng) for c in (0, 3, 6) for _ in range(5)])
    forest = BASELINES["hog_lbp_random_forest"]
    pipe = make_pipeline(forest.feature_step(), forest.head(0, 1))
    pipe.fit(faces, np.repeat([0, 3, 6], 5))
    probs = BaselineClassifier(pipe).predict(to_model_input(faces[:2]))
    assert probs.shape == (2, NUM_CLASSES)
    assert np.allclose(probs.sum(axis=1), 1.0) and probs[:, [1, 2, 4, 5]].max() == 0
