"""Batch analysis scaling: one process, ``--workers 2``, and a local two-node Dask cluster.

    .venv/bin/python benchmarks/bench_batch.py [--videos 20] [--seconds 60] [--fps 10]

Generates an archive of 640x480 30 fps H.264 videos of the astronaut drifting across
the frame (``bench_video.write_test_video``), then analyses it with
``python -m emotion_core.analyze`` three ways: ``--workers 1`` (one process, the
reference), ``--workers 2`` (a local process pool) and ``--cluster`` on a Dask cluster
of a scheduler and two worker processes started as separate nodes on this machine
(``dask scheduler`` / ``dask worker --nthreads 1``; their start-up is timed apart).
Each run starts from an empty manifest. Prints a Markdown table: analysed frames per
second, speed-up against one process, and parallel efficiency (speed-up / workers).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from bench_video import write_test_video  # noqa: E402

from emotion_core.analyze import main as analyze  # noqa: E402
from emotion_core.batch_dask import local_cluster  # noqa: E402


def timed_run(archive: Path, out: Path, extra: list[str]) -> tuple[float, int]:
    """Seconds of one analyze run and the frames it analysed."""
    t0 = time.perf_counter()
    code = analyze([str(archive), "--out", str(out), *extra])
    seconds = time.perf_counter() - t0
    if code != 0:
        raise RuntimeError(f"analyze {extra} exited {code}")
    frames = len(pd.read_csv(out, usecols=["file", "frame_index"]).drop_duplicates())
    return seconds, frames


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--videos", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--fps", type=float, default=10.0, help="frames analysed per second of video")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        archive = tmp_path / "archive"
        archive.mkdir()
        t0 = time.perf_counter()
        for i in range(args.videos):
            write_test_video(archive / f"interview_{i:02d}.mp4", args.seconds)
        print(f"archive: {args.videos} x {args.seconds:.0f} s 640x480 30 fps videos "
              f"({time.perf_counter() - t0:.0f} s to encode)", file=sys.stderr)  # fmt: skip
        rate = ["--fps", str(args.fps)]
        results = []
        for label, workers, extra in (
            ("one process (--workers 1)", 1, ["--workers", "1"]),
            ("local pool (--workers 2)", 2, ["--workers", "2"]),
        ):
            out = tmp_path / f"w{workers}.csv"
            results.append((label, workers, *timed_run(archive, out, [*extra, *rate])))
            print(results[-1], file=sys.stderr)
        t0 = time.perf_counter()
        with local_cluster(2, tmp_path / "cluster.log", timeout_s=300) as address:
            startup = time.perf_counter() - t0
            out = tmp_path / "cluster.csv"
            label = "Dask, 2 worker nodes (--cluster)"
            results.append((label, 2, *timed_run(archive, out, ["--cluster", address, *rate])))
            print(results[-1], file=sys.stderr)
    base = results[0][3] / results[0][2]
    print(f"\nDask cluster start-up (scheduler + 2 workers ready): {startup:.1f} s\n")
    print("| run | workers | frames | wall s | frames/s | speed-up | efficiency |")
    print("|---|---|---|---|---|---|---|")
    for label, workers, seconds, frames in results:
        fps = frames / seconds
        print(
            f"| {label} | {workers} | {frames} | {seconds:.1f} | {fps:.1f} | "
            f"{fps / base:.2f}x | {fps / base / workers:.0%} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
