"""The named classical baselines: features, classifier, hyper-parameter grid, sample size.

Each entry is what a practitioner from feature-based facial expression recognition
expects beside a CNN. The grids are small on purpose: the whole table must rebuild in
30 minutes on a 2-core machine (README, Classical baselines), and RBF SVMs, whose fit
grows with the square of the faces, train on a subsample (``train_sample``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from emotion_core.features import HogFeatures, LbpHistograms, PixelVector

# Feature extractors by name; a baseline names one or more (concatenated in that order).
FEATURES: dict[str, Callable[[], BaseEstimator]] = {
    "pixels": PixelVector,
    "hog": HogFeatures,
    "lbp": LbpHistograms,
}


@dataclass(frozen=True)
class Baseline:
    """One row of the comparison table.

    ``head(seed, jobs)`` builds the unfitted classifier (with any scaling or PCA) that
    sits on the features; ``grid`` is searched on the validation part of train/;
    ``train_sample`` caps the training faces (None: all); ``calibrate`` says the
    classifier has no predict_proba and gets a softmax temperature (SoftmaxDecision);
    ``single_threaded`` says its solver uses one core, so grid points fit side by side.
    """

    name: str
    summary: str
    features: tuple[str, ...]
    head: Callable[[int, int], BaseEstimator]
    grid: dict[str, list[Any]] = field(default_factory=dict)
    train_sample: int | None = None
    calibrate: bool = False
    single_threaded: bool = False

    def feature_step(self) -> BaseEstimator:
        if len(self.features) == 1:
            return FEATURES[self.features[0]]()
        return FeatureUnion([(name, FEATURES[name]()) for name in self.features])


def _pca_svm(seed: int, jobs: int) -> Pipeline:
    pca = PCA(whiten=True, svd_solver="randomized", random_state=seed)
    return Pipeline([("pca", pca), ("svm", SVC(kernel="rbf", gamma="scale", cache_size=1000))])


def _linear_svm(seed: int, jobs: int) -> LinearSVC:
    # HOG blocks are already L2-Hys normalised; standardising them slowed liblinear's
    # convergence tenfold on 1,350 faces for no gain
    return LinearSVC(C=0.05, max_iter=2000, random_state=seed)


def _rbf_svm(seed: int, jobs: int) -> Pipeline:
    svm = SVC(kernel="rbf", gamma="scale", cache_size=1000)
    return Pipeline([("scale", StandardScaler()), ("svm", svm)])


def _forest(seed: int, jobs: int) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=150, n_jobs=jobs, random_state=seed)


def _boosting(seed: int, jobs: int) -> HistGradientBoostingClassifier:
    # early stopping on 10% of its own training faces, never on the validation split
    return HistGradientBoostingClassifier(
        max_iter=200, early_stopping=True, validation_fraction=0.1, n_iter_no_change=15,
        random_state=seed,
    )  # fmt: skip


def _prior(seed: int, jobs: int) -> DummyClassifier:
    return DummyClassifier(strategy="prior")


BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline(
            "majority",
            "No model: always the most frequent class, probabilities = class shares (the floor)",
            ("pixels",),
            _prior,
        ),
        Baseline(
            "pca_svm_rbf",
            "Eigenfaces: whitened PCA of the pixels, then an RBF-kernel SVM",
            ("pixels",),
            _pca_svm,
            {"pca__n_components": [100, 150, 200], "svm__C": [3.0, 10.0]},
            train_sample=8000,
            calibrate=True,
            single_threaded=True,
        ),
        Baseline(
            "hog_linear_svm",
            "HOG (9 orientations, 6x6-pixel cells, 2x2-cell blocks), linear SVM",
            ("hog",),
            _linear_svm,
            {"C": [0.005, 0.01, 0.02]},
            calibrate=True,
            single_threaded=True,
        ),
        Baseline(
            "hog_svm_rbf",
            "HOG, standardised, RBF-kernel SVM (on a subsample: its fit grows as n squared)",
            ("hog",),
            _rbf_svm,
            {"svm__C": [3.0, 10.0]},
            train_sample=5000,
            calibrate=True,
            single_threaded=True,
        ),
        Baseline(
            "hog_lbp_random_forest",
            "HOG + LBP cell histograms, random forest of 150 trees",
            ("hog", "lbp"),
            _forest,
            {"min_samples_leaf": [1, 3], "max_features": ["sqrt"]},
        ),
        Baseline(
            "hog_lbp_gradient_boosting",
            "HOG + LBP cell histograms, histogram gradient boosting (<= 200 rounds, early stop)",
            ("hog", "lbp"),
            _boosting,
            {"learning_rate": [0.1, 0.2]},
            train_sample=8000,
        ),
    )
}
