"""Test-time augmentation: what each extra view of a face buys, and what it costs.

    .venv/bin/python benchmarks/bench_tta.py [--model assets/emotion_cnn_int8.tflite]

Three ways to read a face through the app's LiteRT path: once (live), averaged with its
mirror (the photo default, ``EmotionClassifier.predict_tta``), and mirror x five
positions (centre and 2-pixel shifts up, down, left and right, edges replicated: ten
views). Scored on PublicTest and on the app's crops of the real-faces-dev photos
(largest face, detected once), with the per-face time of each (batch of one face, 2
threads). Development data only: nothing here trains on it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_input_blur import real_photo_crops  # noqa: E402

from emotion_core.classifier import DEFAULT_MODEL_PATH, EmotionClassifier  # noqa: E402
from emotion_core.dataset import DEFAULT_FER2013, load_split  # noqa: E402
from emotion_core.evaluate import timings_ms  # noqa: E402
from emotion_core.metrics import compute_metrics  # noqa: E402
from emotion_core.preprocessing import to_model_input  # noqa: E402

SHIFT = 2  # pixels


def shifted_views(batch: np.ndarray) -> list[np.ndarray]:
    """The batch at its centre and moved ``SHIFT`` px four ways (edges replicated)."""
    s = SHIFT
    padded = np.pad(batch, ((0, 0), (s, s), (s, s), (0, 0)), mode="edge")
    h, w = batch.shape[1:3]
    offsets = ((s, s), (0, s), (2 * s, s), (s, 0), (s, 2 * s))
    return [padded[:, y : y + h, x : x + w] for y, x in offsets]


def predict_ten(clf: EmotionClassifier, batch: np.ndarray) -> np.ndarray:
    """Mean probabilities over five positions, each with its mirror, in one call."""
    views = shifted_views(batch)
    views += [v[:, :, ::-1, :] for v in views]
    probs = clf.predict(np.concatenate(views))
    return probs.reshape(len(views), len(batch), -1).mean(axis=0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    p.add_argument("--data", type=Path, default=DEFAULT_FER2013)
    p.add_argument("--real", type=Path, default=ROOT.parent / "shared/datasets/real-faces-dev")
    p.add_argument("--runs", type=int, default=300, help="timed calls per way")
    args = p.parse_args(argv)
    clf = EmotionClassifier(args.model)
    ways = {
        "once": clf.predict,
        "mirror (2 views)": clf.predict_tta,
        "mirror x 5 positions (10 views)": lambda b: predict_ten(clf, b),
    }
    sets = {"PublicTest": load_split(args.data, "test")}
    print(f"{args.model}")
    faces = {"PublicTest": to_model_input(sets["PublicTest"].images)}
    labels = {"PublicTest": sets["PublicTest"].labels}
    if args.real.is_dir():
        crops, real_labels = real_photo_crops(args.real)
        faces["real-faces-dev crops"], labels["real-faces-dev crops"] = (
            to_model_input(crops),
            real_labels,
        )
    print("| way | " + " | ".join(f"{n} ({len(labels[n])}) acc / macro-F1" for n in faces)
          + " | ms a face |")  # fmt: skip
    print("|---|" + "---:|" * (len(faces) + 1))
    one = faces["PublicTest"][:1]
    for name, predict in ways.items():
        cells = []
        for n, x in faces.items():
            probs = np.concatenate([predict(x[i : i + 256]) for i in range(0, len(x), 256)])
            m = compute_metrics(labels[n], probs)
            cells.append(f"{m.accuracy:.1%} / {m.macro_f1:.3f}")
        ms = np.median(timings_ms(predict, one, args.runs))
        print(f"| {name} | " + " | ".join(cells) + f" | {ms:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
