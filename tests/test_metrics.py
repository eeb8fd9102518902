"""Metrics against numbers worked out by hand on a small known prediction set."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emotion_core.emotions import LABELS, NUM_CLASSES
from emotion_core.metrics import (
    apply_temperature,
    compute_metrics,
    expected_calibration_error,
    fit_temperature,
)

TOL = 1e-9
ANGRY, HAPPY, SURPRISE = LABELS.index("angry"), LABELS.index("happy"), LABELS.index("surprise")

# Ten faces over three of the seven classes; three mistakes (indices 2, 6, 9).
Y_TRUE = [ANGRY] * 3 + [HAPPY] * 4 + [SURPRISE] * 3
Y_PRED = [ANGRY, ANGRY, HAPPY, HAPPY, HAPPY, HAPPY, SURPRISE, SURPRISE, SURPRISE, HAPPY]
TOP_PROB = [0.95, 0.85, 0.90, 0.70, 0.62, 0.75, 0.55, 0.42, 0.30, 0.45]


def probabilities(pred: list[int], top: list[float]) -> np.ndarray:
    """Rows whose argmax is ``pred`` with probability ``top``, the rest spread evenly."""
    probs = np.array([[(1 - t) / (NUM_CLASSES - 1)] * NUM_CLASSES for t in top])
    probs[np.arange(len(pred)), pred] = top
    return probs


@pytest.fixture
def toy():
    return compute_metrics(np.array(Y_TRUE), probabilities(Y_PRED, TOP_PROB))


def test_accuracy_and_confusion_rows_are_true_columns_predicted(toy):
    assert toy.n == 10
    assert toy.accuracy == pytest.approx(7 / 10, abs=TOL)
    cm = np.array(toy.confusion)
    assert cm.sum() == 10
    assert cm[ANGRY, ANGRY] == 2 and cm[ANGRY, HAPPY] == 1
    assert cm[HAPPY, HAPPY] == 3 and cm[HAPPY, SURPRISE] == 1
    assert cm[SURPRISE, SURPRISE] == 2 and cm[SURPRISE, HAPPY] == 1
    assert cm.sum(axis=1).tolist() == [3, 0, 0, 4, 0, 0, 3]


def test_per_class_precision_recall_f1_by_hand(toy):
    # angry: 2 of 2 predicted right, 2 of 3 found -> F1 = 2*1*(2/3)/(5/3) = 0.8
    assert toy.per_class["angry"] == pytest.approx(
        {"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3}, abs=TOL
    )
    # happy: 3 of 5 predicted right, 3 of 4 found -> F1 = 2*0.6*0.75/1.35 = 2/3
    assert toy.per_class["happy"] == pytest.approx(
        {"precision": 0.6, "recall": 0.75, "f1": 2 / 3, "support": 4}, abs=TOL
    )
    # surprise: 2 of 3 predicted right, 2 of 3 found
    assert toy.per_class["surprise"] == pytest.approx(
        {"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3}, abs=TOL
    )
    assert toy.per_class["disgust"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_macro_f1_averages_only_classes_that_occur(toy):
    # (0.8 + 2/3 + 2/3) / 3 = 32/45; the four absent classes do not drag it down.
    assert toy.macro_f1 == pytest.approx(32 / 45, abs=TOL)


def test_confidence_bands_share_and_accuracy(toy):
    assert toy.bands["high"] == pytest.approx({"share": 0.3, "accuracy": 2 / 3}, abs=TOL)
    assert toy.bands["medium"] == pytest.approx({"share": 0.4, "accuracy": 3 / 4}, abs=TOL)
    assert toy.bands["low"] == pytest.approx({"share": 0.3, "accuracy": 2 / 3}, abs=TOL)


def test_an_empty_band_has_no_accuracy():
    m = compute_metrics(np.array([HAPPY, HAPPY]), probabilities([HAPPY, ANGRY], [0.9, 0.95]))
    assert m.bands["high"] == {"share": 1.0, "accuracy": 0.5}
    assert m.bands["medium"] == {"share": 0.0, "accuracy": None}
    assert m.bands["low"] == {"share": 0.0, "accuracy": None}


def test_expected_calibration_error_by_hand(toy):
    # 15 bins of width 1/15: every face is alone in its bin except 0.42 (right) and 0.45
    # (wrong), which share the bin (0.400, 0.467]. Singletons give |correct - conf| / 10 each:
    # (0.05 + 0.15 + 0.90 + 0.30 + 0.38 + 0.25 + 0.55 + 0.70) / 10 = 0.328;
    # the shared bin gives 2/10 * |0.5 - 0.435| = 0.013.  ECE = 0.341.
    assert toy.ece == pytest.approx(0.341, abs=TOL)


def test_calibrated_predictions_have_zero_ece():
    conf = np.full(4, 0.75)
    assert expected_calibration_error(conf, np.array([1, 1, 1, 0], bool)) == pytest.approx(0.0)


def test_metrics_serialise_to_json(toy):
    back = json.loads(json.dumps(toy.as_dict()))
    assert back["labels"] == list(LABELS)
    assert back["accuracy"] == pytest.approx(0.7)
    assert len(back["confusion"]) == NUM_CLASSES


def test_probabilities_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="expected probabilities"):
        compute_metrics(np.array([0, 1]), np.zeros((2, 3)))


def test_temperature_undoes_a_known_overconfidence():
    """Labels drawn from calibrated probabilities, shown to the fit sharpened by T = 2:
    the fitted temperature recovers about 2, keeps every argmax and lowers the ECE."""
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 1.5, (4000, NUM_CLASSES))
    calibrated = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(NUM_CLASSES, p=p) for p in calibrated])
    sharpened = apply_temperature(calibrated, 0.5)
    t = fit_temperature(y, sharpened)
    assert t == pytest.approx(2.0, rel=0.1)
    rescaled = apply_temperature(sharpened, t)
    assert np.array_equal(rescaled.argmax(1), sharpened.argmax(1))
    assert compute_metrics(y, rescaled).ece < compute_metrics(y, sharpened).ece / 2
