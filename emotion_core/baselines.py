"""Train and evaluate the classical baselines beside the CNN, into the model card.

    python -m emotion_core.baselines --data ../shared/datasets/fer2013 --out assets/ \
        [--only NAME ...] [--limit N] [--models-dir runs/baselines] [--jobs 2]

Same loader and preprocessing as the CNN (emotion_core.dataset). Hyper-parameters are
chosen on a stratified validation part of train/ (never on PublicTest): each grid point
is fitted on the rest of train/ (or a sample of it, see the registry) and scored on the
validation part; the best fit is kept as it is, margin classifiers get a softmax
temperature fitted on the same validation part, and PublicTest is predicted once at the
end through the evaluation's own path (BaselineClassifier, emotion_core.evaluate). The
fitted pipelines are saved with joblib in ``--models-dir`` (git-ignored: a forest is
hundreds of MB) and the figures go into the card's ``baselines`` section in ``--out``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from emotion_core.baseline_model import BaselineClassifier, SoftmaxDecision
from emotion_core.baseline_registry import BASELINES, FEATURES, Baseline
from emotion_core.dataset import CSV_USAGE, DatasetError, FaceDataset, load_split
from emotion_core.emotions import NUM_CLASSES
from emotion_core.evaluate import DEFAULT_DATA, file_sha256, measure_latency, predict_split
from emotion_core.metrics import compute_metrics, macro_f1
from emotion_core.model_card import MODEL_CARD_NAME, load_card, update_card
from emotion_core.preprocessing import to_model_input
from emotion_core.train import cpu_name

log = logging.getLogger(__name__)

DEFAULT_MODELS_DIR = Path("runs/baselines")
VAL_FRACTION = 0.1
MIN_LIMIT = 2 * NUM_CLASSES


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m emotion_core.baselines", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="FER2013 root or CSV")
    p.add_argument("--out", type=Path, default=Path("assets"), help="folder of the model card")
    p.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR, help="joblib files")
    p.add_argument("--only", action="append", choices=list(BASELINES), metavar="NAME",
                   help=f"run only this baseline (repeatable): {', '.join(BASELINES)}")  # fmt: skip
    p.add_argument("--limit", type=int, default=None,
                   help="at most N faces from each split (quick runs and tests)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=2, help="threads for forests, boosting and BLAS")
    p.add_argument("--latency-runs", type=int, default=100, help="one-face timing calls")
    p.add_argument("--batch-size", type=int, default=512)
    args = p.parse_args(argv)
    if args.limit is not None and args.limit < MIN_LIMIT:
        p.error(f"--limit must be at least {MIN_LIMIT} (two faces per class)")
    return args


class FeatureCache:
    """Each feature of the train and validation faces computed once per run (HOG takes
    ~2.5 ms a face, and four baselines use it)."""

    def __init__(self, train: FaceDataset, val: FaceDataset) -> None:
        self.faces = {"train": train.images, "val": val.images}
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def get(self, baseline: Baseline, part: str) -> np.ndarray:
        blocks = []
        for name in baseline.features:
            if (name, part) not in self._cache:
                log.info("computing %s features of %d faces", name, len(self.faces[part]))
                self._cache[name, part] = FEATURES[name]().transform(self.faces[part])
            blocks.append(self._cache[name, part])
        return blocks[0] if len(blocks) == 1 else np.hstack(blocks)


def feasible(params: dict, x: np.ndarray) -> dict:
    """``params`` with PCA asking for at most as many components as a small sample allows."""
    if "pca__n_components" in params:
        params = {**params, "pca__n_components": min(params["pca__n_components"], *x.shape)}
    return params


def fit_point(baseline: Baseline, params: dict, x_tr, y_tr, x_val, y_val, args) -> tuple:
    """Fit one grid point and score it on validation: the fitted head and its record."""
    head = clone(baseline.head(args.seed, args.jobs)).set_params(**params)
    wall, cpu = time.perf_counter(), time.thread_time()
    head.fit(x_tr, y_tr)
    seconds = time.perf_counter() - wall
    pred = head.predict(x_val)
    acc = float(np.mean(pred == y_val))
    log.info("%s %s: validation accuracy %.4f (%.1f s)", baseline.name, params, acc, seconds)
    return head, {"params": params, "val_accuracy": acc, "val_macro_f1": macro_f1(y_val, pred),
                  "fit_seconds": round(seconds, 2),
                  "fit_cpu_seconds": round(time.thread_time() - cpu, 2)}  # fmt: skip


def search(baseline: Baseline, x_tr, y_tr, x_val, y_val, args) -> tuple[object, dict]:
    """Fit every grid point, score it on validation; the best fit and the search record.

    Single-threaded solvers (liblinear, libsvm) fit ``--jobs`` grid points at once in
    threads (both release the GIL), each with one BLAS thread, so no core idles during
    their searches: part of keeping the whole table inside 30 minutes.
    """
    started = time.perf_counter()
    points: list[dict] = []
    for params in ParameterGrid(baseline.grid):
        params = feasible(params, x_tr)
        if params not in points:  # a sample's size can make two points equal
            points.append(params)
    jobs = min(args.jobs, len(points)) if baseline.single_threaded else 1
    with threadpool_limits(limits=1 if jobs > 1 else args.jobs):
        fits = joblib.Parallel(n_jobs=jobs, backend="threading", return_as="generator")(
            joblib.delayed(fit_point)(baseline, p, x_tr, y_tr, x_val, y_val, args) for p in points
        )
        results = list(tqdm(fits, total=len(points), desc=baseline.name, unit="fit"))
    best, chosen = max(results, key=lambda r: r[1]["val_accuracy"])
    seconds = round(time.perf_counter() - started, 2)
    return best, {"trials": [r[1] for r in results], "chosen": chosen, "seconds": seconds}


def run_one(baseline: Baseline, cache: FeatureCache, data: dict[str, FaceDataset], args) -> dict:
    """Search, calibrate, save and evaluate one baseline; its card entry."""
    started = time.perf_counter()
    train, val, test = data["train"], data["val"], data["test"]
    x_tr, x_val = cache.get(baseline, "train"), cache.get(baseline, "val")
    y_tr = train.labels
    if baseline.train_sample and len(y_tr) > baseline.train_sample:
        pick = np.random.default_rng(args.seed).permutation(len(y_tr))[: baseline.train_sample]
        idx = np.sort(pick)
        x_tr, y_tr = x_tr[idx], y_tr[idx]
    head, record = search(baseline, x_tr, y_tr, x_val, val.labels, args)
    probabilities = "predict_proba"
    if baseline.calibrate:
        head = SoftmaxDecision(head).fit(x_val, val.labels)
        probabilities = (
            f"softmax(decision_function / T), T = {head.temperature:.3g} fitted on validation"
        )
    if hasattr(head, "n_jobs"):
        head.set_params(n_jobs=1)  # one face at a time: threads cost more than they save
    model = Pipeline([("features", baseline.feature_step()), ("classifier", head)])
    args.models_dir.mkdir(parents=True, exist_ok=True)
    path = args.models_dir / f"{baseline.name}.joblib"
    joblib.dump(model, path)
    clf = BaselineClassifier(model, path)
    x_test = to_model_input(test.images)
    metrics = compute_metrics(test.labels, predict_split(clf, x_test, False, args.batch_size))
    latency = measure_latency(clf, x_test[:1], ("plain",), args.latency_runs)
    log.info("%s: PublicTest accuracy %.4f, macro-F1 %.4f", baseline.name, metrics.accuracy,
             metrics.macro_f1)  # fmt: skip
    chosen = record["chosen"]
    return {
        "summary": baseline.summary,
        "features": list(baseline.features),
        "train_images": int(len(y_tr)),
        "grid": {k: list(v) for k, v in baseline.grid.items()},
        "chosen_params": chosen["params"],
        "validation": record["trials"],
        "training_seconds": chosen["fit_seconds"],
        "search_seconds": record["seconds"],
        "probabilities": probabilities,
        "model_file": str(path),
        "model_sha256": file_sha256(path),
        "file_bytes": path.stat().st_size,
        "latency_ms": latency,
        "plain": metrics.as_dict(),
        "seconds": round(time.perf_counter() - started, 1),  # all of it, test included
        "command": "python -m emotion_core.baselines " + " ".join(args.argv),
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def load_data(args) -> dict[str, FaceDataset]:
    """Train (less the validation part), validation and test faces, each capped by --limit."""
    train, test = load_split(args.data, "train"), load_split(args.data, "test")
    if args.limit:
        train, test = train.subset(args.limit, args.seed), test.subset(args.limit, args.seed)
    train, val = train.split(VAL_FRACTION, args.seed)
    return {"train": train, "val": val, "test": test}


def run(args: argparse.Namespace) -> dict:
    """Every requested baseline; returns the card's updated ``baselines`` section, which
    is written after each baseline so an interrupted run keeps what it finished."""
    started = time.perf_counter()
    data = load_data(args)
    log.info("train %d, validation %d, test %d faces", *(len(d) for d in data.values()))
    cache = FeatureCache(data["train"], data["val"])
    card_path = args.out / MODEL_CARD_NAME
    models = dict(load_card(card_path).get("baselines", {}).get("models", {}))
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or list(BASELINES):
        models[name] = run_one(BASELINES[name], cache, data, args)
        section = {
            "data": str(args.data),
            "test_split": CSV_USAGE["test"],
            "test_images": len(data["test"]),
            "train_images": len(data["train"]),
            "validation_images": len(data["val"]),
            "limit": args.limit,
            "seed": args.seed,
            "hardware": f"{cpu_name()}, {os.cpu_count()} CPU cores, no GPU",
            "command": "python -m emotion_core.baselines " + " ".join(args.argv),
            "wall_seconds": round(time.perf_counter() - started, 1),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "models": models,
        }
        update_card(card_path, baselines=section)
    return section


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # argparse has printed its message
        return int(exc.code or 0)
    args.argv = argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        # OpenMP and BLAS threads capped at --jobs: on a shared CPU their spin-waits made
        # gradient boosting ten times slower
        with threadpool_limits(limits=args.jobs):
            section = run(args)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name in args.only or list(BASELINES):
        m = section["models"][name]
        ms = (m["latency_ms"] or {}).get("plain", float("nan"))
        acc, f1, mb = m["plain"]["accuracy"], m["plain"]["macro_f1"], m["file_bytes"] / 1e6
        print(f"{name}: accuracy {acc:.2%}, macro-F1 {f1:.3f}, {ms:.2f} ms/face, {mb:.1f} MB")
    print(f"{section['wall_seconds']:.0f} s in all; card: {args.out / MODEL_CARD_NAME}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
