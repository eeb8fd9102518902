"""The evaluation command end to end: real model, real files, real model card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from emotion_core.classifier import DEFAULT_MODEL_PATH, FLOAT_MODEL_PATH
from emotion_core.emotions import LABELS
from emotion_core.evaluate import file_sha256, main
from emotion_core.model_card import MODEL_CARD_NAME, load_card

PER_CLASS = 2
# The card records accuracy from the same command; a re-run may differ only by noise.
CARD_ACCURACY_TOLERANCE = 0.005


@pytest.fixture(scope="module")
def tiny_fer(tmp_path_factory) -> Path:
    """A FER2013-style root with ``test/<emotion>/`` holding two 48x48 PNGs each."""
    root = tmp_path_factory.mktemp("fer")
    rng = np.random.default_rng(7)
    for label in LABELS:
        folder = root / "test" / label
        folder.mkdir(parents=True)
        for i in range(PER_CLASS):
            face = cv2.GaussianBlur(rng.integers(0, 256, (48, 48), np.uint8), (5, 5), 0)
            cv2.imwrite(str(folder / f"{i}.png"), face)
    return root


def test_evaluate_writes_card_json_and_png_into_out(tiny_fer, tmp_path):
    repo_card = DEFAULT_MODEL_PATH.parent / MODEL_CARD_NAME
    before = repo_card.read_bytes()
    argv = ["--model", str(DEFAULT_MODEL_PATH), "--data", str(tiny_fer), "--out", str(tmp_path)]
    assert main([*argv, "--latency-runs", "5"]) == 0
    assert repo_card.read_bytes() == before  # --out decides where the card goes
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 0
    cm_json = json.loads((tmp_path / "confusion_matrix.json").read_text())
    assert cm_json["labels"] == list(LABELS)
    ev = load_card(tmp_path / MODEL_CARD_NAME)["evaluation"]
    n = PER_CLASS * len(LABELS)
    assert ev["images"] == n and ev["split_name"] == "PublicTest"
    assert ev["model_sha256"] == file_sha256(DEFAULT_MODEL_PATH)
    for mode in ("plain", "tta"):
        assert 0.0 <= ev[mode]["accuracy"] <= 1.0
        assert np.sum(ev[mode]["confusion"]) == n == np.sum(cm_json[mode])
        assert ev["latency_ms"][mode] > 0
    assert ev["latency_ms"]["batch"] == 1


def test_tta_flag_measures_only_with_tta(tiny_fer, tmp_path):
    argv = ["--data", str(tiny_fer), "--out", str(tmp_path), "--tta", "--latency-runs", "0"]
    assert main(argv) == 0
    ev = load_card(tmp_path / MODEL_CARD_NAME)["evaluation"]
    assert "tta" in ev and "plain" not in ev
    assert ev["latency_ms"] is None


def test_a_variant_is_recorded_beside_the_main_evaluation(tiny_fer, tmp_path):
    """The float file's figures go to the card's variants, leaving evaluation alone."""
    variant_file = FLOAT_MODEL_PATH
    shutil.copy(DEFAULT_MODEL_PATH.parent / MODEL_CARD_NAME, tmp_path / MODEL_CARD_NAME)
    before = load_card(tmp_path / MODEL_CARD_NAME)
    argv = ["--model", str(variant_file), "--data", str(tiny_fer), "--out", str(tmp_path)]
    assert main([*argv, "--variant", "--latency-runs", "5"]) == 0
    card = load_card(tmp_path / MODEL_CARD_NAME)
    assert card["evaluation"] == before["evaluation"]
    variant = card["variants"][variant_file.name]
    assert variant["model_sha256"] == file_sha256(variant_file)
    assert variant["file_bytes"] == variant_file.stat().st_size
    assert variant["plain"]["n"] == PER_CLASS * len(LABELS)
    assert not (tmp_path / "confusion_matrix.png").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "no/such/model.tflite"], "model file not found"),
        (["--data", "no/such/folder"], "data folder not found"),
        (["--data", "no/such/fer2013.csv"], "CSV file not found"),
    ],
)
def test_bad_input_exits_2_with_a_message(tiny_fer, tmp_path, capsys, args, message):
    argv = ["--data", str(tiny_fer), "--out", str(tmp_path), *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / MODEL_CARD_NAME).exists()


def test_a_folder_without_emotion_folders_exits_2(tmp_path, capsys):
    (tmp_path / "test" / "cats").mkdir(parents=True)
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "unknown emotion 'cats'" in capsys.readouterr().err


def test_unknown_option_exits_2(capsys):
    assert main(["--no-such-option"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.dataset
@pytest.mark.slow
def test_shipped_card_states_the_accuracy_the_shipped_model_reaches(fer2013_dir, tmp_path):
    """Re-measures PublicTest: the card beside the shipped model must not overstate it."""
    card = load_card(DEFAULT_MODEL_PATH.parent / MODEL_CARD_NAME)
    assert "evaluation" in card, "run python -m emotion_core.evaluate to fill the card"
    recorded = card["evaluation"]
    assert recorded["model_sha256"] == file_sha256(DEFAULT_MODEL_PATH), "card is stale"
    argv = ["--data", str(fer2013_dir), "--out", str(tmp_path), "--no-tta", "--latency-runs", "0"]
    assert main(argv) == 0
    measured = load_card(tmp_path / MODEL_CARD_NAME)["evaluation"]
    assert measured["images"] == recorded["images"]
    assert measured["plain"]["accuracy"] == pytest.approx(
        recorded["plain"]["accuracy"], abs=CARD_ACCURACY_TOLERANCE
    )
