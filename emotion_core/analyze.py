"""Analyse photos, videos or folders of them from the command line into one CSV report.

    python -m emotion_core.analyze PATH... --out report.csv [--db URL] [--every-n N | --fps N]

The CSV has one row per face per analysed frame or photo (a frame without a face is one
row with empty face columns), in :data:`emotion_core.media.REPORT_COLUMNS`. A file that
cannot be analysed gets a message and the others still run. Exit code 0 when at least one
file was analysed, 2 when none was. With ``--db`` the photos are also saved as one
session (source "image") and each video as its own session (source "video").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from emotion_core.classifier import DEFAULT_MODEL_PATH, EmotionClassifier
from emotion_core.media import (
    IMAGE_EXTENSIONS,
    MediaError,
    PhotoAnalyser,
    report_rows,
    save_photo_session,
    write_report,
)
from emotion_core.results import FrameResult
from emotion_core.settings import AnalysisSettings
from emotion_core.store import SessionStore
from emotion_core.video import VIDEO_EXTENSIONS, FrameSampler, Progress, analyse_video


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m emotion_core.analyze", description=__doc__)
    p.add_argument("paths", nargs="+", type=Path, help="photos, videos or folders (recursive)")
    p.add_argument("--out", type=Path, required=True, help="the CSV report to write")
    p.add_argument("--db", help="also save sessions to this store (SQLAlchemy URL)")
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("--every-n", type=int, default=1, help="analyse every Nth video frame")
    rate.add_argument("--fps", type=float, help="analyse N video frames per second of video")
    p.add_argument("--detector", choices=["short", "full"], default="short")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    args = p.parse_args(argv)
    if args.every_n < 1 or (args.fps is not None and args.fps <= 0):
        p.error("--every-n must be >= 1 and --fps > 0")
    return args


def collect_files(paths: list[Path]) -> Iterator[Path | str]:
    """The files to analyse, folders expanded recursively; a string is a message."""
    known = IMAGE_EXTENSIONS + VIDEO_EXTENSIONS
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in known)
        elif not path.exists():
            yield f"{path}: no such file or folder"
        elif path.suffix.lower() not in known:
            yield f"{path}: unsupported file type (known: {' '.join(known)})"
        else:
            yield path


def _video(
    path: Path,
    classifier: EmotionClassifier,
    settings: AnalysisSettings,
    store: SessionStore | None,
    sampler: FrameSampler,
    out: TextIO,
) -> None:
    """Analyse one video, streaming its rows to the report."""
    bar = tqdm(desc=path.name, unit="s", leave=False, bar_format="{l_bar}{bar}| {n:.1f}/{total}s")

    def progress(p: Progress) -> None:
        bar.total = round(p.duration_s, 1) if p.duration_s else None
        bar.n = round(p.t_video, 1)
        bar.set_postfix(fps=f"{p.speed_fps:.1f}", refresh=True)

    try:
        result = analyse_video(
            path,
            classifier,
            settings,
            store=store,
            sampler=sampler,
            on_progress=progress,
            on_frame=lambda r, t: write_report(report_rows(path.name, r, t), out, header=False),
        )
    finally:
        bar.close()
    if result.error:
        tqdm.write(f"{path}: {result.error} Kept {result.frames_analysed} frames.")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = AnalysisSettings(detector_range=args.detector)
    sampler_args = {"per_second": args.fps} if args.fps else {"every_n": args.every_n}
    classifier = EmotionClassifier(args.model)
    store = SessionStore(args.db) if args.db else None
    photos: list[tuple[str, FrameResult]] = []
    analysed = 0
    with (
        args.out.open("w", newline="", encoding="utf-8") as out,
        PhotoAnalyser(classifier, settings) as analyser,
    ):
        write_report([], out)
        for item in tqdm(list(collect_files(args.paths)), unit="file"):
            if isinstance(item, str):
                tqdm.write(item, file=sys.stderr)
                continue
            try:
                if item.suffix.lower() in IMAGE_EXTENSIONS:
                    result = analyser.analyse_file(item.name, item).result
                    write_report(report_rows(item.name, result, 0.0), out, header=False)
                    photos.append((item.name, result))
                else:
                    _video(item, classifier, settings, store, FrameSampler(**sampler_args), out)
                analysed += 1
            except MediaError as exc:
                tqdm.write(f"{item}: {exc}", file=sys.stderr)
    if store is not None and photos:
        save_photo_session(store, photos, settings)
    print(f"{analysed} file(s) analysed -> {args.out}", file=sys.stderr)
    return 0 if analysed else 2


if __name__ == "__main__":
    sys.exit(main())
