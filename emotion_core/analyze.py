"""Analyse photos, videos or folders of them from the command line into one CSV report.

    python -m emotion_core.analyze PATH... --out report.csv [--db URL [--owner NAME]]
        [--every-n N | --fps N]
        [--workers N | --cluster tcp://HOST:8786] [--retries 2] [--segment-s S]

The CSV has one row per face per analysed frame or photo (a frame without a face is one
row with empty face columns), in :data:`emotion_core.media.REPORT_COLUMNS`, files in the
order given (folders sorted). ``--workers N`` (default: every core) analyses files in N
worker processes and splits long videos into time segments so one video also uses every
worker; ``--cluster`` runs the same tasks on a Dask cluster. The rows are those of a
one-process run (docs/design.md). A file that cannot be analysed is retried
``--retries`` times, then reported with its reason while the others finish. Finished
files are recorded in a manifest (``--manifest``, default ``REPORT.parts/``) keyed by
content and model hash: the same command run again skips them. Exit code 0 when at
least one file was analysed or already done, 2 when none was. With ``--db`` each video
is saved as its own session (source "video") and the photos of a run as one session
(source "image"), owned by ``--owner`` (a signed-in user's e-mail address: they then see
the sessions in the app; without it only admins do once sign-in is on).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from emotion_core.access import owner_name
from emotion_core.api_keys import clean_owner
from emotion_core.batch import Batch, BatchOptions
from emotion_core.batch_run import InProcessRunner, PoolRunner, Runner
from emotion_core.batch_tasks import WorkerConfig
from emotion_core.classifier import DEFAULT_MODEL_PATH
from emotion_core.media import IMAGE_EXTENSIONS
from emotion_core.model_files import ModelRef
from emotion_core.settings import MEDIA_MIRROR_AVERAGING, AnalysisSettings
from emotion_core.video import VIDEO_EXTENSIONS


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m emotion_core.analyze", description=__doc__)
    p.add_argument("paths", nargs="+", type=Path, help="photos, videos or folders (recursive)")
    p.add_argument("--out", type=Path, required=True, help="the CSV report to write")
    p.add_argument("--db", help="also save sessions to this store (SQLAlchemy URL)")
    p.add_argument(
        "--owner", help="with --db: who the sessions belong to (the app user's e-mail address)"
    )
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("--every-n", type=int, default=1, help="analyse every Nth video frame")
    rate.add_argument("--fps", type=float, help="analyse N video frames per second of video")
    p.add_argument("--detector", choices=["short", "full"], default="short")
    p.add_argument(
        "--mirror-averaging",
        action=argparse.BooleanOptionalAction,
        default=MEDIA_MIRROR_AVERAGING,
        help="average each face with its mirror image (more accurate, 2x classifier time)",
    )
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="local worker processes (default: the cores this process may use)",
    )
    where.add_argument("--cluster", metavar="ADDRESS", help="Dask scheduler, tcp://host:8786")
    p.add_argument("--retries", type=int, default=2, help="retries of a failed task")
    p.add_argument("--segment-s", type=float, help="split videos longer than this (seconds)")
    p.add_argument("--manifest", type=Path, help="resume folder (default: OUT.parts/)")
    args = p.parse_args(argv)
    if args.every_n < 1 or (args.fps is not None and args.fps <= 0):
        p.error("--every-n must be >= 1 and --fps > 0")
    if args.owner is not None:
        if args.db is None:
            p.error("--owner needs --db (it names who the saved sessions belong to)")
        try:
            args.owner = clean_owner(owner_name(args.owner))
        except ValueError as exc:
            p.error(str(exc))
    if args.workers < 1 or args.retries < 0 or (args.segment_s is not None and args.segment_s <= 0):
        p.error("--workers must be >= 1, --retries >= 0 and --segment-s > 0")
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


def make_runner(args: argparse.Namespace, config: WorkerConfig) -> Runner:
    if args.cluster:
        from emotion_core.batch_dask import DaskRunner  # only the cluster mode needs Dask

        return DaskRunner(config, args.cluster)
    if args.workers == 1:
        return InProcessRunner(config)
    return PoolRunner(config, args.workers)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    files: list[Path] = []
    for item in collect_files(args.paths):
        if isinstance(item, str):
            tqdm.write(item, file=sys.stderr)
        else:
            files.append(item)
    config = WorkerConfig(
        str(args.model.resolve()),
        ModelRef.of(args.model).sha256,
        AnalysisSettings(detector_range=args.detector, mirror_averaging=args.mirror_averaging),
        every_n=args.every_n if args.fps is None else 1,
        per_second=args.fps,
        db_url=args.db,
    )
    manifest = args.manifest or args.out.with_name(args.out.name + ".parts")
    options = BatchOptions(args.out, manifest, args.retries, args.segment_s, args.owner)
    runner = make_runner(args, config)
    try:
        batch = Batch(config, options, runner)
        batch.plan(files)
        summary = batch.run()
    finally:
        runner.close()
    done = summary.analysed + summary.skipped
    skipped = f", {summary.skipped} already done" if summary.skipped else ""
    failed = f", {len(summary.failed)} failed" if summary.failed else ""
    speed = summary.frames / summary.elapsed_s if summary.elapsed_s else 0.0
    print(
        f"{summary.analysed} file(s) analysed{skipped}{failed} -> {args.out} "
        f"({summary.frames} frames, {speed:.1f} frames/s)",
        file=sys.stderr,
    )
    return 0 if done else 2


if __name__ == "__main__":
    sys.exit(main())
