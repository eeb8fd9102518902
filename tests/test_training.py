"""The real training command on a tiny data set made here (no FER2013 needed)."""

import json

import cv2
import numpy as np

from emotion_core import train
from emotion_core.classifier import EmotionClassifier
from emotion_core.emotions import LABELS


def tiny_dataset(root, per_class=6):
    rng = np.random.default_rng(0)
    for c, name in enumerate(LABELS):
        d = root / name
        d.mkdir(parents=True)
        for i in range(per_class):
            img = rng.integers(0, 60, (48, 48), dtype=np.uint8) + np.uint8(25 * c)
            cv2.imwrite(str(d / f"{i}.png"), img)
    return root


def test_one_epoch_trains_exports_and_resumes(tmp_path):
    data = tiny_dataset(tmp_path / "data")
    ckpt, out = tmp_path / "ckpt", tmp_path / "out"
    common = [
        "--data",
        str(data),
        "--out",
        str(out),
        "--checkpoints",
        str(ckpt),
        "--batch-size",
        "16",
        "--precision",
        "float32",
    ]
    assert train.main([*common, "--epochs", "1"]) == 0
    state = json.loads((ckpt / "state.json").read_text())
    assert state["epoch"] == 1 and (ckpt / "last.keras").is_file()
    assert (out / "emotion_cnn.tflite").is_file()
    card = json.loads((out / "model_card.json").read_text())
    assert card["labels"] == list(LABELS) and card["training"]["epochs_run"] == 1

    assert train.main([*common, "--epochs", "2", "--resume"]) == 0
    state = json.loads((ckpt / "state.json").read_text())
    assert state["epoch"] == 2
    log_lines = (ckpt / "log.csv").read_text().strip().splitlines()
    assert len(log_lines) == 3  # header + one line per epoch, the resumed one appended
    card = json.loads((out / "model_card.json").read_text())
    temperature = card["calibration"]["temperature"]
    assert 0.25 <= temperature <= 4 and card["architecture"]["temperature"] == temperature
    for name in ("emotion_cnn.tflite", "emotion_cnn_int8.tflite"):
        probs = EmotionClassifier(out / name).predict(np.zeros((2, 48, 48, 1), "f4"))
        assert probs.shape == (2, 7) and np.allclose(probs.sum(1), 1, atol=1e-2)


def test_bad_data_path_is_a_message_not_a_traceback(tmp_path, capsys):
    assert train.main(["--data", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err


def test_resume_without_checkpoint_is_a_message(tmp_path, capsys):
    data = tiny_dataset(tmp_path / "data", per_class=2)
    args = ["--data", str(data), "--checkpoints", str(tmp_path / "none"), "--resume"]
    assert train.main(args) == 2
    assert "no checkpoint" in capsys.readouterr().err
