"""Classification metrics for the emotion CNN and the classical baselines.

Evaluation, tests and the Model page all read the same :class:`EvaluationMetrics`, whose
:meth:`~EvaluationMetrics.as_dict` is JSON-serialisable, so the card, the confusion-matrix
JSON and the charts cannot disagree about a number. The confusion matrix and the
precision / recall / F1 scores come from ``sklearn.metrics`` (one source of metrics for
the CNN and the baselines); only what scikit-learn lacks is computed here: the
confidence bands and the 15-bin expected calibration error.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm

from emotion_core.emotions import LABELS, NUM_CLASSES

ECE_BINS = 15
# Confidence bands on the top probability: "high" is > 0.8, "low" is < 0.5.
HIGH_CONFIDENCE = 0.8
LOW_CONFIDENCE = 0.5


@dataclass(frozen=True)
class EvaluationMetrics:
    """Metrics of one prediction run; plain Python values only, so it serialises as is.

    ``confusion[i][j]`` counts faces of true class ``LABELS[i]`` predicted as
    ``LABELS[j]``. ``per_class`` maps each label to precision, recall, f1 and support.
    ``bands`` maps high/medium/low to the share of faces in that band and the accuracy
    inside it (None for an empty band).
    """

    n: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict[str, float | int]]
    confusion: list[list[int]]
    bands: dict[str, dict[str, float | None]]
    ece: float
    labels: tuple[str, ...] = LABELS

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["labels"] = list(self.labels)
        return out


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """(7, 7) int counts, rows = true class, columns = predicted class, Emotion order."""
    return skm.confusion_matrix(y_true, y_pred, labels=np.arange(NUM_CLASSES))


def per_class_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, dict[str, float | int]]:
    """Precision, recall, F1 and support per label; 0.0 where a ratio is 0/0."""
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=np.arange(NUM_CLASSES), zero_division=0.0
    )
    return {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(LABELS)
    }


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unweighted mean F1 over the classes that occur in the truth or the predictions
    (sklearn without ``labels=``): a class absent from both says nothing."""
    if len(y_true) == 0:
        return 0.0
    return float(skm.f1_score(y_true, y_pred, average="macro", zero_division=0.0))


def confidence_bands(confidence: np.ndarray, correct: np.ndarray) -> dict[str, dict]:
    """Share of faces with top probability > 0.8, 0.5..0.8 and < 0.5, and the accuracy
    inside each band: tells whether the live "uncertain" threshold means anything."""
    masks = {
        "high": confidence > HIGH_CONFIDENCE,
        "medium": (confidence >= LOW_CONFIDENCE) & (confidence <= HIGH_CONFIDENCE),
        "low": confidence < LOW_CONFIDENCE,
    }
    n = max(len(confidence), 1)
    return {
        name: {
            "share": float(mask.sum() / n),
            "accuracy": float(correct[mask].mean()) if mask.any() else None,
        }
        for name, mask in masks.items()
    }


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS
) -> float:
    """ECE (Guo et al. 2017): sum over equal-width bins ``(k/M, (k+1)/M]`` of the bin's
    share of samples times |accuracy - mean confidence| in the bin."""
    if len(confidence) == 0:
        return 0.0
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            gap = abs(correct[mask].mean() - confidence[mask].mean())
            ece += mask.mean() * gap
    return float(ece)


def compute_metrics(y_true: np.ndarray, probs: np.ndarray) -> EvaluationMetrics:
    """All metrics for integer labels (N,) and probabilities (N, 7) in Emotion order."""
    y_true = np.asarray(y_true, np.int64)
    probs = np.asarray(probs, np.float64)
    if probs.ndim != 2 or probs.shape != (len(y_true), NUM_CLASSES):
        raise ValueError(f"expected probabilities ({len(y_true)}, 7), got {probs.shape}")
    y_pred = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    correct = y_pred == y_true
    cm = confusion_matrix(y_true, y_pred)
    return EvaluationMetrics(
        n=int(len(y_true)),
        accuracy=float(correct.mean()) if len(y_true) else 0.0,
        macro_f1=macro_f1(y_true, y_pred),
        per_class=per_class_scores(y_true, y_pred),
        confusion=cm.tolist(),
        bands=confidence_bands(confidence, correct),
        ece=expected_calibration_error(confidence, correct),
    )


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax probabilities re-scaled as if their logits had been divided by
    ``temperature`` (log-probabilities are the logits up to a per-row constant)."""
    z = np.log(np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def log_loss(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels."""
    y = np.asarray(y_true, np.int64)
    return float(-np.log(np.asarray(probs, np.float64)[np.arange(len(y)), y] + 1e-12).mean())


def fit_temperature(y_true: np.ndarray, probs: np.ndarray) -> float:
    """The temperature (0.25..4) that minimises the negative log-likelihood of the labels
    (Guo et al. 2017): one number, so accuracy is unchanged and only confidence moves.
    A model trained with label smoothing is under-confident and gets T < 1."""
    grid = np.exp(np.linspace(np.log(0.25), np.log(4.0), 161))  # steps of ~1.75%
    nll = [log_loss(y_true, apply_temperature(probs, t)) for t in grid]
    return float(grid[int(np.argmin(nll))])
