"""End-to-end video file analysis: decode, detect, classify, track, record a session.

    .venv/bin/python benchmarks/bench_video.py [--seconds 60] [--fps-sample N] [--annotate]

Encodes a 640x480 30 fps H.264 video of the astronaut photo drifting across the frame
(PyAV), then analyses every frame (or N per second) into a session in a temporary SQLite
store, exactly as the Analyze media page does. Prints analysed frames per second and the
real-time factor (seconds of video per second of work).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import skimage.data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emotion_core.classifier import EmotionClassifier
from emotion_core.settings import AnalysisSettings
from emotion_core.store import SessionStore, sqlite_url
from emotion_core.video import AnnotatedWriter, FrameSampler, analyse_video

W, H, FPS = 640, 480, 30
SIDE = 440  # the astronaut picture; at 360 px short-range BlazeFace misses her face


def write_test_video(path: Path, seconds: float) -> Path:
    """The astronaut (440 px) moving on a slow ellipse over a grey 640x480 canvas."""
    face = cv2.resize(cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR), (SIDE, SIDE))
    writer = AnnotatedWriter(path, W, H, FPS)
    for i in range(round(seconds * FPS)):
        a = 2 * math.pi * i / (FPS * 6)  # one lap every 6 s
        x = int((W - SIDE) / 2 * (1 + math.cos(a)))
        y = int((H - SIDE) / 2 * (1 + math.sin(a)))
        canvas = np.full((H, W, 3), 60, np.uint8)
        canvas[y : y + SIDE, x : x + SIDE] = face
        writer.write(canvas)
    writer.close()
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--fps-sample", type=float, help="analyse N frames per second (default all)")
    p.add_argument("--annotate", action="store_true", help="also write the annotated copy")
    args = p.parse_args(argv)
    classifier = EmotionClassifier()
    with tempfile.TemporaryDirectory() as tmp:
        video = write_test_video(Path(tmp) / "bench.mp4", args.seconds)
        store = SessionStore(sqlite_url(Path(tmp) / "bench.db"))
        result = analyse_video(
            video,
            classifier,
            AnalysisSettings(),
            store=store,
            sampler=FrameSampler(per_second=args.fps_sample) if args.fps_sample else None,
            annotated_path=Path(tmp) / "annotated.mp4" if args.annotate else None,
        )
        faces = store.load_samples(result.session_id)["face_id"].notna().sum()
        store.dispose()
    duration = result.info.duration_s or result.t_video
    print(
        f"{args.seconds:.0f} s of {W}x{H} {FPS} fps video: {result.frames_analysed} frames "
        f"analysed ({faces} with a face) in {result.elapsed_s:.1f} s -> "
        f"{result.frames_analysed / result.elapsed_s:.1f} frames/s, "
        f"real-time factor {duration / result.elapsed_s:.2f}x"
        f"{' (with annotated copy)' if args.annotate else ''}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
