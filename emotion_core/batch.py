"""The coordinator of a batch run: files -> tasks -> runner -> report, sessions, manifest.

It decides which files still need work (the manifest), splits long videos into segments
when there are fewer videos than workers, opens each video's session, feeds tasks to a
runner (:mod:`emotion_core.batch_run`), joins segments back (:mod:`emotion_core.segments`)
and writes the report in file order: the rows a one-process run writes.
"""

from __future__ import annotations

import contextlib
import csv
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from emotion_core.batch_run import Runner, run_tasks
from emotion_core.batch_tasks import Task, TaskResult, WorkerConfig
from emotion_core.manifest import Entry, Manifest
from emotion_core.media import (
    IMAGE_EXTENSIONS,
    REPORT_COLUMNS,
    MediaError,
    save_photo_rows,
    write_report,
)
from emotion_core.model_files import ModelRef, model_columns
from emotion_core.segments import Segment, join_segment, overlap_frames, plan_segments, scan_frames
from emotion_core.store import SessionStore
from emotion_core.tracking import FaceTracker
from emotion_core.video import probe_video, video_session_settings

MIN_SEGMENT_S = 10.0  # shorter segments spend too much of their time on the warm-up


@dataclass(frozen=True)
class BatchOptions:
    out: Path
    manifest_dir: Path
    retries: int = 2
    segment_s: float | None = None  # None: total video time / workers, >= MIN_SEGMENT_S
    owner: str | None = None  # who the saved sessions belong to (emotion_core.access)


@dataclass
class FileRun:
    """The coordinator's state for one file of the run."""

    index: int
    path: Path
    key: str
    kind: str
    duration_s: float = 0.0
    segments: list[Segment | None] = field(default_factory=lambda: [None])
    results: dict[int, TaskResult] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)  # segment number -> reason
    session_id: int | None = None
    closed: bool = False
    rows: list[dict[str, Any]] | None = None  # a photo's rows, for the photo session

    @property
    def failure(self) -> str | None:
        return next(iter(self.failed.values()), None)

    @property
    def finished(self) -> bool:
        return len(self.results) + len(self.failed) == len(self.segments)


@dataclass
class BatchSummary:
    analysed: int = 0
    skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # file -> reason
    frames: int = 0
    video_s: float = 0.0
    elapsed_s: float = 0.0


def params_of(config: WorkerConfig) -> dict[str, Any]:
    """The analysis parameters that change a file's rows (the manifest key)."""
    return {**config.settings.to_dict(), "every_n": config.every_n, "fps": config.per_second}


class Batch:
    def __init__(self, config: WorkerConfig, options: BatchOptions, runner: Runner) -> None:
        self.config, self.options, self.runner = config, options, runner
        self.manifest = Manifest(options.manifest_dir, config.model_hash, params_of(config))
        self.store = SessionStore(config.db_url) if config.db_url else None
        self.model = ModelRef(Path(config.model_path), config.model_hash)
        self.summary = BatchSummary()
        self.files: list[FileRun] = []
        self.order: list[tuple[str | None, str]] = []  # (key when done, name) per file
        self.bar: tqdm | None = None
        self.t0 = time.perf_counter()

    # -- planning ------------------------------------------------------------------
    def plan(self, paths: list[Path]) -> None:
        """Key every file; skip the ones the manifest has; size the segments."""
        for path in paths:
            kind = "photo" if path.suffix.lower() in IMAGE_EXTENSIONS else "video"
            try:
                key = self.manifest.key(path)
            except OSError as exc:
                self._fail_early(path, f"cannot read it ({exc.strerror or exc})")
                continue
            self.order.append((key if self.manifest.done(key) else None, path.name))
            if self.manifest.done(key):
                self.summary.skipped += 1
                continue
            run = FileRun(len(self.order) - 1, path, key, kind)
            if kind == "video":
                # A file refused here is left to a worker, which reports it (and
                # retries first: on a shared mount a read error can be passing).
                with contextlib.suppress(MediaError):
                    run.duration_s = probe_video(path).duration_s or 0.0
            self.files.append(run)
        total = sum(f.duration_s for f in self.files)
        seg_s = self.options.segment_s
        if seg_s is None and self.runner.workers > 1:
            seg_s = max(total / self.runner.workers, MIN_SEGMENT_S)
        for run in self.files:
            if seg_s and run.duration_s > seg_s:
                self._split(run, math.ceil(run.duration_s / seg_s))

    def _split(self, run: FileRun, parts: int) -> None:
        try:
            table = scan_frames(run.path)
        except MediaError:
            return  # analysed whole
        step = self.config.every_n
        if self.config.per_second:
            fps = (len(table.pts) - 1) / max(run.duration_s, 1e-6)
            step = max(math.ceil(fps / self.config.per_second), 1)
        warm = step * overlap_frames(self.config.settings.smoothing, FaceTracker().max_missed)
        run.segments = list(plan_segments(table, parts, warm, min_frames=warm))
        if len(run.segments) > 1:
            tqdm.write(f"{run.path.name}: {len(run.segments)} segments", file=sys.stderr)

    def _fail_early(self, path: Path, reason: str) -> None:
        self.summary.failed[str(path)] = reason
        tqdm.write(f"{path}: {reason}", file=sys.stderr)

    # -- running -------------------------------------------------------------------
    def tasks(self) -> Iterator[Task]:
        """Tasks in file order; a video's session opens just before its first task."""
        for run in self.files:
            t0_wall = time.time()
            if run.kind == "video" and self.store is not None:
                stale = self.manifest.entries.get(run.key)
                if stale is not None and stale.session_id is not None:
                    self.store.delete_session(stale.session_id)  # an interrupted attempt
                run.session_id = self.store.create_session(
                    "video",
                    video_session_settings(self.config.settings, self.config.sampler()),
                    source_name=run.path.name,
                    started_at=datetime.fromtimestamp(t0_wall, UTC),
                    owner=self.options.owner,
                    **model_columns(self.model),
                )
                self.manifest.record(Entry(run.key, str(run.path), "running", run.session_id))
            for seg in run.segments:
                yield Task(run.index, str(run.path), run.kind, seg, run.session_id, t0_wall)

    def run(self) -> BatchSummary:
        by_index = {run.index: run for run in self.files}
        self.bar = tqdm(total=len(self.files), unit="file", dynamic_ncols=True)

        def on_result(result: TaskResult) -> None:
            run = by_index[result.task.file_index]
            run.results[result.task.segment.number if result.task.segment else 0] = result
            self.summary.frames += result.frames_analysed
            self.summary.video_s += result.video_s
            self._progress(run)

        def on_failure(task: Task, reason: str) -> None:
            run = by_index[task.file_index]
            run.failed[task.segment.number if task.segment else 0] = reason
            self._progress(run)

        def on_retry(task: Task, reason: str) -> None:
            tqdm.write(f"{task.path}: retrying after: {reason}", file=sys.stderr)

        try:
            run_tasks(
                self.runner, self.tasks(), self.options.retries, on_result, on_failure, on_retry
            )
        finally:
            self.bar.close()
        self._write_report()
        if self.store is not None:
            self.store.dispose()
        self.summary.elapsed_s = time.perf_counter() - self.t0
        return self.summary

    def _progress(self, run: FileRun) -> None:
        if run.finished and not run.closed:
            run.closed = True
            self._finish(run)
            self.bar.update(1)
        elapsed = time.perf_counter() - self.t0
        fps = self.summary.frames / elapsed if elapsed > 0 else 0.0
        total = sum(f.duration_s for f in self.files)
        self.bar.set_postfix(video=f"{self.summary.video_s:.0f}/{total:.0f}s", fps=f"{fps:.1f}")

    # -- merging -------------------------------------------------------------------
    def _finish(self, run: FileRun) -> None:
        """Join the file's segments, close its session, save its rows in the manifest."""
        rows: list[dict[str, Any]] = []
        error = None
        for number, seg in enumerate(run.segments):
            result = run.results.get(number)
            if result is None:  # failed after its retries: keep what came before it
                if self.store is not None and run.session_id is not None and seg is not None:
                    self.store.replace_samples(run.session_id, seg.first, None, [])
                break
            if seg is None or seg.number == 0:
                own = [r for r in result.rows if seg is None or r["frame_index"] >= seg.first]
            else:
                own, ids = join_segment(rows, result.rows, seg.first)
                if self.store is not None and run.session_id is not None:
                    self.store.renumber_faces(run.session_id, seg.first, seg.end, ids)
            rows.extend(own)
            error = error or result.error
            if result.error:
                break  # the file stops here (truncated): later segments have nothing
        if run.failure is not None:
            self.summary.failed[str(run.path)] = run.failure
            tqdm.write(f"{run.path}: {run.failure}", file=sys.stderr)
        elif error:
            tqdm.write(f"{run.path}: {error} Kept {len(rows)} rows.", file=sys.stderr)
        status = "failed" if run.failure else "incomplete" if error else "complete"
        if self.store is not None and run.session_id is not None:
            if rows:
                ended = "complete" if status == "complete" else "incomplete"
                self.store.end_session(run.session_id, ended)
            else:
                self.store.delete_session(run.session_id)
        if run.failure is None:
            self.summary.analysed += 1
        sid = run.session_id if rows else None
        reason = run.failure or error
        self.manifest.record(Entry(run.key, str(run.path), status, sid, len(rows), reason), rows)
        self.order[run.index] = (run.key, run.path.name)
        if run.kind == "photo" and run.failure is None:
            run.rows = rows

    def _write_report(self) -> None:
        """The report in file order, from the manifest's parts (this run's and earlier).
        A part is keyed by content, so its rows get the file's current name (a renamed
        file, or two copies of one video in the archive)."""
        with self.options.out.open("w", newline="", encoding="utf-8") as out:
            write_report([], out)
            for key, name in self.order:
                if key is not None and self.manifest.part(key).exists():
                    with self.manifest.part(key).open(newline="", encoding="utf-8") as part:
                        rows = csv.DictReader(part, fieldnames=REPORT_COLUMNS)
                        write_report(({**row, "file": name} for row in rows), out, False)
        photos = [(run.path.name, run.rows) for run in self.files if run.rows is not None]
        if self.store is not None and photos:
            save_photo_rows(
                self.store, photos, self.config.settings, self.model, self.options.owner
            )
