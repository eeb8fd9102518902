"""Single-face inference latency of the shipped model (batch of one), the path the app uses.

    .venv/bin/python benchmarks/bench_inference.py [--runs 500]
    .venv/bin/python benchmarks/bench_inference.py --compare OTHER_int8.tflite [...]

Compares LiteRT running the float and the int8 .tflite files (what EmotionClassifier runs),
plain and with mirror test-time augmentation (the face and its flip as one batch of two),
with a tf.function call on the same .keras model; prints median and p90 milliseconds.
The last line times frames whose number of faces changes every frame (1, 2, 1, 2, ...),
each change re-allocating the interpreter's tensors (2026-12-07: 2.73 ms a frame against
1.49 and 2.71 for steady 1 and 2; an interpreter per batch size took it to 2.47 ms for
26 MB more memory, not kept).
``--compare FILE ...`` times only int8 LiteRT files against the shipped one, in alternating
rounds in one process, so that the machine's drift (these cores' speed changes within a
day) hits every file alike: the figure to compare two networks by.
Run it on an idle machine: with the cores shared, the 2-thread figures grow by an order
of magnitude.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emotion_core.classifier import ASSETS_DIR, EmotionClassifier
from emotion_core.evaluate import timings_ms


def summary(times: list[float]) -> str:
    return f"median {np.median(times):.2f} ms, p90 {np.percentile(times, 90):.2f} ms"


def timed(predict, face: np.ndarray, runs: int) -> str:
    return summary(timings_ms(predict, face, runs))


def compare_in_turns(files: list[Path], face: np.ndarray, runs: int, rounds: int = 10) -> None:
    """One face through each file, ``rounds`` times in turn; median and p90 of each."""
    classifiers = {f: EmotionClassifier(f) for f in files}
    times: dict[Path, list[float]] = {f: [] for f in files}
    for _ in range(rounds):
        for f, clf in classifiers.items():
            times[f] += timings_ms(clf.predict, face, max(runs // rounds, 1))
    for f, ms in times.items():
        print(f"{f}: {summary(ms)}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=500)
    p.add_argument("--compare", nargs="+", type=Path, default=[], metavar="FILE")
    args = p.parse_args(argv)
    face = np.random.default_rng(0).random((1, 48, 48, 1), dtype=np.float32)
    if args.compare:
        compare_in_turns([ASSETS_DIR / "emotion_cnn_int8.tflite", *args.compare], face, args.runs)
        return 0
    for name in ("emotion_cnn.tflite", "emotion_cnn_int8.tflite"):
        for threads in (1, 2):
            clf = EmotionClassifier(ASSETS_DIR / name, num_threads=threads)
            what = f"{name}, LiteRT, {threads} thread(s)"
            print(f"{what}:       {timed(clf.predict, face, args.runs)}")
            print(f"{what}, TTA:  {timed(clf.predict_tta, face, args.runs)}")
    clf = EmotionClassifier(ASSETS_DIR / "emotion_cnn_int8.tflite")
    pair = np.concatenate([face, face[:, ::-1]])
    turns = iter(range(10**9))
    alternate = lambda _: clf.predict(pair[: 1 + next(turns) % 2])  # noqa: E731
    print(f"int8, 2 threads, 1 and 2 faces in turn: {timed(alternate, face, args.runs)}")
    keras_clf = EmotionClassifier(ASSETS_DIR / "emotion_cnn.keras")
    print(f"Keras tf.function:           {timed(keras_clf.predict, face, args.runs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
