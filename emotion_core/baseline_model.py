"""A fitted classical baseline as a model the app's evaluation can run.

:class:`BaselineClassifier` gives a joblib-saved scikit-learn pipeline the interface of
:class:`emotion_core.classifier.EmotionClassifier` (float32 faces (N, 48, 48, 1) in 0..1
-> (N, 7) probabilities in Emotion order, plus mirror TTA), so ``python -m
emotion_core.evaluate --model runs/baselines/<name>.joblib`` takes the CNN's code path.
:class:`SoftmaxDecision` turns a classifier without ``predict_proba`` (a linear or RBF
SVM) into one, with a single temperature fitted on validation data, like the CNN's.

A joblib file is a pickle: loading one runs code, so load only files you made.
"""

from __future__ import annotations

import threading
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from emotion_core.classifier import EmotionClassifier, ModelLoadError
from emotion_core.emotions import NUM_CLASSES
from emotion_core.preprocessing import FACE_SIZE

BASELINE_SUFFIX = ".joblib"
# Temperatures tried for a decision function's softmax: SVM margins are of order 1, so
# the useful range is far wider than the CNN's 0.25..4.
TEMPERATURE_GRID = np.exp(np.linspace(np.log(0.01), np.log(100.0), 241))


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def decision_matrix(estimator, x: np.ndarray) -> np.ndarray:
    """``decision_function`` as (N, n_classes), also for two classes (one column)."""
    d = np.asarray(estimator.decision_function(x), np.float64)
    return np.column_stack([-d, d]) if d.ndim == 1 else d


def fit_softmax_temperature(decision: np.ndarray, y_index: np.ndarray) -> float:
    """The T minimising the validation NLL of softmax(decision / T)."""
    rows = np.arange(len(y_index))
    nll = [-np.log(softmax(decision / t)[rows, y_index] + 1e-12).mean() for t in TEMPERATURE_GRID]
    return float(TEMPERATURE_GRID[int(np.argmin(nll))])


class SoftmaxDecision(ClassifierMixin, BaseEstimator):
    """A fitted margin classifier with probabilities softmax(decision_function / T).

    Chosen over ``CalibratedClassifierCV`` or ``SVC(probability=True)``, which refit the
    SVM 3-5 times: one number fitted on the validation split costs nothing, leaves every
    prediction (argmax) unchanged and makes the confidences, bands and ECE meaningful.
    """

    def __init__(self, estimator=None, temperature: float = 1.0) -> None:
        self.estimator = estimator
        self.temperature = temperature

    def fit(self, x: np.ndarray, y: np.ndarray) -> SoftmaxDecision:
        """Fit only the temperature on held-out (x, y); the estimator is already fitted."""
        self.classes_ = self.estimator.classes_
        index = np.searchsorted(self.classes_, y)
        self.temperature = fit_softmax_temperature(decision_matrix(self.estimator, x), index)
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        return decision_matrix(self.estimator, x)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return softmax(decision_matrix(self.estimator, x) / self.temperature)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(x).argmax(axis=1)]


def full_probabilities(model, faces: np.ndarray) -> np.ndarray:
    """(N, 7) probabilities from ``model.predict_proba`` on uint8 faces (N, 48, 48); a
    class the model never saw in training (e.g. disgust in a small sample) gets 0."""
    out = np.zeros((len(faces), NUM_CLASSES), np.float32)
    out[:, np.asarray(model.classes_, int)] = model.predict_proba(faces)
    return out


class BaselineClassifier:
    """A fitted pipeline on uint8 faces behind EmotionClassifier's float interface.

    The pipeline sees (N, 48, 48) uint8 faces, as the data set loads them; the float
    input (x / 255, from to_model_input) is turned back into those exact bytes.
    """

    def __init__(self, model, path: Path | None = None) -> None:
        self.model = model
        self.path = path
        self._lock = threading.Lock()  # sklearn estimators are not documented thread-safe

    @classmethod
    def load(cls, path: str | Path) -> BaselineClassifier:
        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(
                f"baseline file not found: {path}. Rebuild it with "
                "`python -m emotion_core.baselines` (see the README's Classical baselines)."
            )
        try:
            model = joblib.load(path)
        except Exception as exc:  # a pickle can fail in many ways; all mean "not ours"
            raise ModelLoadError(f"{path} is not a saved baseline: {exc}") from None
        if not (hasattr(model, "predict_proba") and hasattr(model, "classes_")):
            raise ModelLoadError(f"{path} holds a {type(model).__name__}, not a classifier")
        return cls(model, path)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities (N, 7) in Emotion order for float32 faces (N, 48, 48, 1) in 0..1."""
        batch = np.asarray(batch, np.float32)
        if batch.ndim != 4 or batch.shape[1:] != (FACE_SIZE, FACE_SIZE, 1):
            raise ValueError(f"expected (N, 48, 48, 1) faces, got {batch.shape}")
        if len(batch) == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        faces = np.clip(np.rint(batch[..., 0] * 255.0), 0, 255).astype(np.uint8)
        with self._lock:
            return full_probabilities(self.model, faces)

    def predict_tta(self, batch: np.ndarray) -> np.ndarray:
        """Test-time augmentation: the mean of the predictions for faces and their mirror."""
        both = self.predict(np.concatenate([batch, batch[:, :, ::-1, :]]))
        return (both[: len(batch)] + both[len(batch) :]) / 2.0


def load_classifier(path: str | Path):
    """The right adapter for a model file: a baseline for ``.joblib``, else the CNN's."""
    if Path(path).suffix == BASELINE_SUFFIX:
        return BaselineClassifier.load(path)
    return EmotionClassifier(path)
