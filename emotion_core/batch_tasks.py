"""The worker side of batch analysis: tasks, what they return, and per-process state.

A task is one photo, one whole video, or one segment of a video. It runs in a worker
process (a local pool or a Dask worker on any node) that loads the model once: the
pool's initializer, or the Dask worker plugin, calls :func:`worker_state`; later tasks
reuse it. Tasks return report rows (:data:`~emotion_core.media.REPORT_COLUMNS`); with a
database a video task also writes its own rows into the session the coordinator opened
for the file, in one transaction at the end, so a task killed half-way writes nothing
and its retry cannot duplicate rows.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emotion_core.classifier import EmotionClassifier
from emotion_core.media import PhotoAnalyser, report_rows
from emotion_core.model_files import ModelRef
from emotion_core.segments import Segment
from emotion_core.settings import AnalysisSettings
from emotion_core.store import SessionStore
from emotion_core.video import FrameSampler, analyse_segment, analyse_video


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs, identical on every node (small: it travels with the
    Dask plugin and the pool initializer)."""

    model_path: str
    model_hash: str  # a node whose model file differs refuses to work (wrong numbers)
    settings: AnalysisSettings
    every_n: int = 1
    per_second: float | None = None
    db_url: str | None = None
    classifier_threads: int = 1  # one process per core: no threads fighting over cores

    def sampler(self) -> FrameSampler:
        return FrameSampler(self.every_n, self.per_second)


@dataclass(frozen=True)
class Task:
    """One unit of work: a photo, a whole video (``segment`` None) or a segment."""

    file_index: int  # position in the run's file list (the report's order)
    path: str  # readable by every worker: a local path or a shared mount
    kind: str  # "photo" or "video"
    segment: Segment | None = None
    session_id: int | None = None  # the video's session, opened by the coordinator
    t0_wall: float = 0.0  # the session's start (Unix s): t_wall = t0_wall + t_rel

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def key(self) -> tuple[int, int]:
        return (self.file_index, self.segment.number if self.segment else 0)


@dataclass(frozen=True)
class TaskResult:
    task: Task
    rows: list[dict[str, Any]]  # report rows; a segment's include its warm-up
    frames_analysed: int
    video_s: float  # seconds of video this task owned (0 for a photo)
    error: str | None = None  # decoding stopped early (the rows so far are kept)
    worker: str = field(default="")


@dataclass
class WorkerState:
    """One worker process's model, photo analyser and store connection."""

    config: WorkerConfig
    classifier: EmotionClassifier
    photos: PhotoAnalyser
    store: SessionStore | None
    photo_lock: threading.Lock = field(default_factory=threading.Lock)


_STATE: WorkerState | None = None  # one per worker process: the model loads once


def worker_state(config: WorkerConfig) -> WorkerState:
    """This process's state for ``config``, loading the model on first use."""
    global _STATE
    if _STATE is None or _STATE.config != config:
        if ModelRef.of(config.model_path).sha256 != config.model_hash:
            raise RuntimeError(f"{config.model_path} on this node is not the model asked for")
        classifier = EmotionClassifier(config.model_path, config.classifier_threads)
        store = SessionStore(config.db_url) if config.db_url else None
        _STATE = WorkerState(config, classifier, PhotoAnalyser(classifier, config.settings), store)
    return _STATE


def run_task(config: WorkerConfig, task: Task) -> TaskResult:
    """Analyse one task. Raises on a refused file (:class:`MediaError`) or any failure;
    the coordinator retries and reports."""
    state = worker_state(config)
    if task.kind == "photo":
        with state.photo_lock:  # one detector per process; Dask may run threads
            result = state.photos.analyse_file(task.name, Path(task.path)).result
        return TaskResult(task, report_rows(task.name, result, 0.0), 1, 0.0, None, _me())
    rows: list[dict[str, Any]] = []

    def collect(result, t_rel: float) -> None:
        rows.extend(report_rows(task.name, result, t_rel))

    seg = task.segment
    if seg is None:
        video = analyse_video(
            Path(task.path), state.classifier, config.settings, sampler=config.sampler(),
            on_frame=collect,
        )  # fmt: skip
        frames, t_video, error, t_from = video.frames_analysed, video.t_video, video.error, 0.0
    else:
        part = analyse_segment(
            Path(task.path), state.classifier, config.settings, seg, config.sampler(), collect
        )
        frames, t_video, error = part.frames_analysed, part.t_video, part.error
        t_from = _t_of(rows, seg.first)  # the warm-up's seconds belong to the segment before
    if state.store is not None and task.session_id is not None:
        first, end = (0, None) if seg is None else (seg.first, seg.end)
        own = [r for r in rows if r["frame_index"] >= first]
        state.store.replace_samples(
            task.session_id, first, end, _sample_rows(own, task.session_id, task.t0_wall)
        )
    return TaskResult(task, rows, frames, max(t_video - t_from, 0.0), error, _me())


def _t_of(rows: list[dict[str, Any]], first: int) -> float:
    return next((r["t_rel"] for r in rows if r["frame_index"] >= first), 0.0)


def _sample_rows(rows: list[dict[str, Any]], session_id: int, t0_wall: float) -> list[dict]:
    """Report rows as store rows (the report has every sample column but these two)."""
    return [{**r, "session_id": session_id, "t_wall": t0_wall + r["t_rel"]} for r in rows]


def _me() -> str:
    return f"{os.uname().nodename}:{os.getpid()}"


def warm_up(config: WorkerConfig) -> float:
    """Load the model in this process now (the pool's initializer); returns seconds."""
    t0 = time.perf_counter()
    worker_state(config)
    return time.perf_counter() - t0
