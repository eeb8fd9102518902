"""Releasing a training cycle: a real (tiny) export merged into a copy of the shipped assets."""

import csv
import json
import shutil
from pathlib import Path

import pytest
from test_training import tiny_dataset

from emotion_core import release, train
from emotion_core.classifier import DEFAULT_MODEL_PATH
from emotion_core.model_files import ModelRef

ASSETS = Path(DEFAULT_MODEL_PATH).parent
REAL = {
    "data": "real-faces-dev",
    "photos": 10,
    "model_file": "emotion_cnn_int8.tflite",
    "results": {"this project": {"photos": 10, "accuracy": 0.3, "macro_recall": 0.2}},
}


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> tuple[Path, Path]:
    """A one-epoch export trained here, and the FER2013-layout data it was trained on."""
    root = tmp_path_factory.mktemp("release")
    data = root / "data"
    tiny_dataset(data / "train")
    tiny_dataset(data / "test", per_class=2)
    out = root / "export"
    args = ["--data", str(data), "--out", str(out), "--checkpoints", str(root / "ckpt")]
    assert train.main([*args, "--epochs", "1", "--batch-size", "16", "--precision", "float32"]) == 0
    return out, data


@pytest.fixture
def assets(tmp_path) -> Path:
    """A copy of the shipped model folder to release into."""
    return Path(shutil.copytree(ASSETS, tmp_path / "assets"))


def test_release_copies_the_files_and_keeps_the_history(export, assets):
    out, data = export
    (out / "real.json").write_text(json.dumps(REAL))
    shipped = json.loads((assets / "model_card.json").read_text())
    old_cycles = shipped["training"]["cycles"]
    old_log = (assets / "training_log.csv").read_text().splitlines()

    assert release.main([str(out), "--assets", str(assets), "--data", str(data)]) == 0

    for name in release.MODEL_FILES:
        assert (assets / name).read_bytes() == (out / name).read_bytes()
    card = json.loads((assets / "model_card.json").read_text())
    exported = json.loads((out / "model_card.json").read_text())
    for section in ("architecture", "input_smoothing", "calibration"):
        assert card[section] == exported[section]
    cycles = card["training"]["cycles"]
    assert cycles[:-1] == old_cycles
    assert cycles[-1]["cycle"] == len(old_cycles) + 1 and cycles[-1]["epochs"] == 1
    assert card["training"]["total_epochs"] == sum(c["epochs"] for c in cycles)
    log = (assets / "training_log.csv").read_text().splitlines()
    assert log[: len(old_log)] == old_log  # the shipped rows unchanged, column order too
    assert len(log) == len(old_log) + 1
    assert list(csv.DictReader(log))[-1]["cycle"] == str(len(cycles))
    results = card["real_photos"]["results"]
    shipped_accuracy = shipped["evaluation"]["plain"]["accuracy"]
    previous = f"previous model (cycle {len(old_cycles)}, {shipped_accuracy:.1%} PublicTest)"
    assert list(results)[:2] == ["this project", previous]
    assert results["this project"] == REAL["results"]["this project"]
    assert results[previous] == shipped["real_photos"]["results"]["this project"]
    # evaluation re-measured on the copied files, not carried over from the old card
    assert card["evaluation"]["model_sha256"] != shipped["evaluation"]["model_sha256"]
    assert card["evaluation"]["images"] == 14
    assert card["variants"]["emotion_cnn.tflite"]["images"] == 14
    accuracy = card["evaluation"]["plain"]["accuracy"]
    assert f"in {len(cycles)} cycles" in card["status"]
    assert f"{accuracy:.1%} on PublicTest" in card["status"]


def test_an_export_without_its_real_photo_figure_is_refused(export, assets, capsys):
    out, data = export
    (out / "real.json").unlink(missing_ok=True)
    before = (assets / "model_card.json").read_text()
    assert release.main([str(out), "--assets", str(assets), "--data", str(data)]) == 2
    assert "missing real.json" in capsys.readouterr().err
    assert (assets / "model_card.json").read_text() == before


def test_a_re_measurement_replaces_its_rows_and_keeps_the_others():
    from emotion_core.model_card import merge_real_photos

    earlier = {"command": "old", "results": {"this project": {"accuracy": 0.4}, "fer": {"a": 1}}}
    new = {"command": "new", "results": {"this project": {"accuracy": 0.5}}}
    merged = merge_real_photos(earlier, new)
    assert merged["command"] == "new"
    assert merged["results"] == {"this project": {"accuracy": 0.5}, "fer": {"a": 1}}
    released = merge_real_photos(earlier, new, "previous model")
    assert list(released["results"]) == ["this project", "previous model", "fer"]


def test_a_cycle_started_from_an_unreleased_one_waits_for_it(export, assets, tmp_path, capsys):
    """A child of an unshipped export is refused (the card would miss its parent's cycle)
    until the parent is released; then it goes out and the history lists both."""
    out, data = export
    (out / "real.json").write_text(json.dumps(REAL))
    child = tmp_path / "child"
    args = ["--data", str(data), "--out", str(child), "--checkpoints", str(tmp_path / "ck")]
    args += ["--init-from", str(out / "emotion_cnn.keras"), "--epochs", "1"]
    assert train.main([*args, "--batch-size", "16", "--precision", "float32"]) == 0
    parent = json.loads((child / "model_card.json").read_text())["training"]["init_from"]
    assert parent["sha256"] == ModelRef.of(out / "emotion_cnn.keras").sha256
    (child / "real.json").write_text(json.dumps(REAL))
    before = (assets / "model_card.json").read_text()

    assert release.main([str(child), "--assets", str(assets), "--data", str(data)]) == 2
    assert "release the cycle that exported it first" in capsys.readouterr().err
    assert (assets / "model_card.json").read_text() == before

    cycles = len(json.loads(before)["training"]["cycles"])
    assert release.main([str(out), "--assets", str(assets), "--data", str(data)]) == 0
    assert release.main([str(child), "--assets", str(assets), "--data", str(data)]) == 0
    card = json.loads((assets / "model_card.json").read_text())
    assert [c["cycle"] for c in card["training"]["cycles"][-2:]] == [cycles + 1, cycles + 2]


def test_a_cycle_resumed_with_a_new_schedule_names_every_command():
    training = {
        "epochs_run": 14,
        "training_seconds": 7000,
        "best_val_accuracy": 0.68,
        "command": "python -m emotion_core.train --epochs 16",
    }
    assert "resumed_with" not in release.cycle_entry(12, training)
    resumed = ["python -m emotion_core.train --epochs 14 --resume"]
    entry = release.cycle_entry(12, {**training, "resumed_with": resumed})
    assert entry["command"] == training["command"] and entry["resumed_with"] == resumed
