"""Evaluate a model file on a labelled split and record the result in its model card.

    python -m emotion_core.evaluate --model assets/emotion_cnn.tflite \
        --data ../shared/datasets/fer2013 [--split test] [--tta | --no-tta] [--out assets]

Predictions go through :class:`EmotionClassifier`, the same LiteRT path as the live app,
plain and with test-time augmentation (mirror averaging); by default both. Writes
``confusion_matrix.png``/``.json`` and the card's ``evaluation`` section into ``--out``
(default: the model's folder), and times one face (batch of one) both ways. With
``--variant`` (an alternative file of the same model, e.g. its int8 quantization) only
the card's ``variants`` entry for that file is written. A classical baseline saved by
``python -m emotion_core.baselines`` (``.joblib``) is evaluated the same way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emotion_core.baseline_model import load_classifier
from emotion_core.classifier import DEFAULT_MODEL_PATH, EmotionClassifier, ModelLoadError
from emotion_core.dataset import CSV_USAGE, DEFAULT_FER2013, DatasetError, load_split
from emotion_core.emotions import LABELS
from emotion_core.metrics import EvaluationMetrics, compute_metrics
from emotion_core.model_card import MODEL_CARD_NAME, load_card, update_card
from emotion_core.preprocessing import to_model_input

log = logging.getLogger(__name__)

DEFAULT_DATA = DEFAULT_FER2013
CONFUSION_NAME = "confusion_matrix"
MODES = ("plain", "tta")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m emotion_core.evaluate", description=__doc__)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH, help=".tflite or .keras")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder root or fer2013.csv")
    p.add_argument("--split", default="test", help="test (PublicTest), train, or a CSV Usage")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--tta", dest="modes", action="store_const", const=("tta",),
                      help="only with test-time augmentation")  # fmt: skip
    mode.add_argument("--no-tta", dest="modes", action="store_const", const=("plain",),
                      help="only without test-time augmentation")  # fmt: skip
    p.set_defaults(modes=MODES)
    p.add_argument("--out", type=Path, default=None, help="card/plots folder (model's folder)")
    p.add_argument(
        "--variant",
        action="store_true",
        help="an alternative file of the card's model (e.g. the int8 one): record its figures "
        "under the card's variants.<file name> and leave the main evaluation alone",
    )
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--latency-runs", type=int, default=200, help="timing calls, 0 skips")
    return p.parse_args(argv)


def predict_split(clf: EmotionClassifier, x: np.ndarray, tta: bool, batch: int) -> np.ndarray:
    """Probabilities (N, 7) for float32 faces (N, 48, 48, 1), in batches of ``batch``."""
    predict = clf.predict_tta if tta else clf.predict
    chunks = range(0, len(x), batch)
    name = "tta" if tta else "plain"
    return np.concatenate([predict(x[i : i + batch]) for i in tqdm(chunks, desc=name)])


LATENCY_ROUNDS = 4


def timings_ms(predict, face: np.ndarray, runs: int) -> list[float]:
    """Wall times of ``runs`` calls of ``predict(face)`` in ms, after 5 warm-up calls
    (the first call after a batch-size change re-allocates the interpreter's tensors)."""
    for _ in range(5):
        predict(face)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        predict(face)
        times.append((time.perf_counter() - t) * 1e3)
    return times


def measure_latency(
    clf: EmotionClassifier, face: np.ndarray, modes: tuple[str, ...], runs: int
) -> dict | None:
    """Median and 10th-percentile ms per single-face call for each mode (None when
    ``runs`` is 0). The modes take turns in rounds so that both see the same CPU load;
    the load average is kept because on a shared CPU the medians are pessimistic."""
    if runs <= 0:
        return None
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    per_round = max(runs // LATENCY_ROUNDS, 1)
    for _ in range(LATENCY_ROUNDS):
        for mode in modes:
            predict = clf.predict_tta if mode == "tta" else clf.predict
            times[mode] += timings_ms(predict, face, per_round)
    latency: dict = {mode: round(float(np.median(t)), 3) for mode, t in times.items()}
    latency |= {f"{m}_p10": round(float(np.percentile(t, 10)), 3) for m, t in times.items()}
    n = per_round * LATENCY_ROUNDS
    latency.update(runs=n, batch=1, load_average_1min=round(os.getloadavg()[0], 2))
    log.info("single-face latency (ms): %s", latency)
    return latency


def save_confusion_png(results: dict[str, EvaluationMetrics], path: Path, title: str) -> None:
    """One annotated heatmap per mode: colour = share of the true class, text = count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6.2 * len(results), 5.6), squeeze=False)
    for ax, (mode, m) in zip(axes[0], results.items()):
        cm = np.asarray(m.confusion)
        share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i, j in np.ndindex(cm.shape):
            colour = "white" if share[i, j] > 0.5 else "black"
            ax.text(j, i, f"{cm[i, j]}\n{share[i, j]:.0%}", ha="center", va="center",
                    fontsize=7.5, color=colour)  # fmt: skip
        ax.set_xticks(range(len(LABELS)), LABELS, rotation=45, ha="right")
        ax.set_yticks(range(len(LABELS)), LABELS)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{mode}: accuracy {m.accuracy:.1%}, macro-F1 {m.macro_f1:.3f}")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def file_sha256(path: Path) -> str:
    """Short content hash, so a card can be matched to the exact model file it measured."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def evaluation_section(
    args: argparse.Namespace, n: int, skipped: int, results: dict, latency: dict
) -> dict:
    """The card's ``evaluation`` section (JSON-ready)."""
    return {
        "model_file": args.model.name,
        "model_sha256": file_sha256(args.model),
        "data": str(args.data),
        "split": args.split,
        "split_name": CSV_USAGE.get(args.split, args.split),
        "images": n,
        "skipped_files": skipped,
        "evaluated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "command": "python -m emotion_core.evaluate " + " ".join(args.argv),
        **{mode: m.as_dict() for mode, m in results.items()},
        "latency_ms": latency,
    }


def run(args: argparse.Namespace) -> dict:
    """Load, predict, measure and write; returns the evaluation section."""
    clf = load_classifier(args.model)  # a baseline's .joblib gets the same interface
    data = load_split(args.data, args.split)
    log.info("%s/%s: %d images (%d skipped)", args.data, args.split, len(data), data.skipped)
    x = to_model_input(data.images)
    results = {
        mode: compute_metrics(data.labels, predict_split(clf, x, mode == "tta", args.batch_size))
        for mode in args.modes
    }
    for mode, m in results.items():
        log.info("%s: accuracy %.4f, macro-F1 %.4f, ECE %.4f", mode, m.accuracy, m.macro_f1, m.ece)
    latency = measure_latency(clf, x[:1], args.modes, args.latency_runs)
    section = evaluation_section(args, len(data), data.skipped, results, latency)
    section["file_bytes"] = args.model.stat().st_size
    out = args.out or args.model.parent
    out.mkdir(parents=True, exist_ok=True)
    if args.variant:
        variants = load_card(out / MODEL_CARD_NAME).get("variants", {})
        update_card(out / MODEL_CARD_NAME, variants={**variants, args.model.name: section})
        return section
    title = f"{args.model.name} on {section['split_name']} ({len(data)} images)"
    save_confusion_png(results, out / f"{CONFUSION_NAME}.png", title)
    matrices = {mode: m.confusion for mode, m in results.items()}
    cm_json = {"labels": list(LABELS), "rows": "true", "columns": "predicted", **matrices}
    (out / f"{CONFUSION_NAME}.json").write_text(json.dumps(cm_json, indent=1) + "\n")
    update_card(out / MODEL_CARD_NAME, evaluation=section)
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
        section = run(args)
    except (ModelLoadError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for mode in args.modes:
        print(f"{mode}: accuracy {section[mode]['accuracy']:.2%} on {section['images']} images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
