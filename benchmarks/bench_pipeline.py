"""Per-frame pipeline timings on 640x480 frames with 1, 3 and 5 real faces.

    .venv/bin/python benchmarks/bench_pipeline.py [--frames 200]

Faces are tiles of the head in scikit-image's astronaut photo; prints median and p90
milliseconds per
stage (detection, classification, tracking+smoothing, overlay) and the total.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import cv2
import numpy as np
import skimage.data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emotion_core.classifier import EmotionClassifier
from emotion_core.detection import FaceDetector
from emotion_core.pipeline import FramePipeline
from emotion_core.preprocessing import crop_face
from emotion_core.settings import AnalysisSettings


def astronaut_head() -> np.ndarray:
    """The astronaut's head and a little shoulder: a square around the detected face,
    2.2x its side, so that several of them fit a 640x480 frame at a detectable size."""
    photo = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    with FaceDetector("short") as detector:
        (box,) = detector.detect(photo, 1)
    return crop_face(photo, box.as_tuple(), scale=2.2, shift_up=0.0)


def tiled_frame(n: int) -> np.ndarray:
    """``n`` astronaut heads in a grid (up to 3 a row) on a 640x480 grey canvas."""
    head = astronaut_head()
    canvas = np.full((480, 640, 3), 40, np.uint8)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    side = min(640 // cols, 480 // rows)
    tile = cv2.resize(head, (side, side), interpolation=cv2.INTER_AREA)
    for i in range(n):
        r, c = divmod(i, cols)
        canvas[r * side : (r + 1) * side, c * side : (c + 1) * side] = tile
    return canvas


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--frames", type=int, default=200)
    p.add_argument(
        "--detector-range",
        choices=("short", "full"),
        default=AnalysisSettings().detector_range,
        help="BlazeFace model (default: the app's; short finds all 5 tiled heads)",
    )
    p.add_argument("--threads", type=int, default=2, help="classifier threads")
    args = p.parse_args(argv)
    classifier = EmotionClassifier(num_threads=args.threads)
    print(f"detector range {args.detector_range}, classifier threads {args.threads}")
    print("faces found | detect ms | classify ms | track ms | overlay ms | total ms (median / p90)")
    for n in (1, 3, 5):
        frame = tiled_frame(n)
        settings = AnalysisSettings(mirror=False, detector_range=args.detector_range)
        pipeline = FramePipeline(classifier, settings)
        timings, found = [], []
        for i in range(args.frames + 10):
            _, result = pipeline.process(frame, i / 30)
            if i >= 10:
                timings.append(result.timings)
                found.append(len(result.faces))

        def stat(values: list[float]) -> str:
            return f"{statistics.median(values):5.1f} / {np.percentile(values, 90):5.1f}"

        print(
            f"{n} tiles: {statistics.median(found):.0f} | "
            f"{stat([t.detect_ms for t in timings])} | {stat([t.classify_ms for t in timings])} | "
            f"{stat([t.track_ms for t in timings])} | {stat([t.overlay_ms for t in timings])} | "
            f"{stat([t.total_ms for t in timings])}"
        )
        pipeline.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
