"""Video analysis jobs: queued, run in worker threads by ``emotion_core.video``, cancellable.

A job owns its uploaded file (a temporary folder, removed when the job ends) and a
cancel event. It runs exactly what the Analyze media page and ``python -m
emotion_core.analyze`` run (:func:`emotion_core.video.analyse_video`), so a cancelled
job keeps the frames analysed so far as an "incomplete" session, as on the page. Jobs
live in this process's memory: a restart forgets them (their sessions stay in the store;
a session a restart cut short stays "recording").
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from emotion_core.classifier import EmotionClassifier
from emotion_core.media import MediaError
from emotion_core.model_files import ModelRef
from emotion_core.settings import AnalysisSettings
from emotion_core.store import SessionStore
from emotion_core.video import FrameSampler, Progress, analyse_video

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
# complete / incomplete: the video's session (incomplete: it stopped early, see error);
# cancelled: stopped by DELETE (session kept as incomplete when a frame was analysed);
# failed: nothing could be analysed (no session).
FINISHED = ("complete", "incomplete", "cancelled", "failed")


class QueueFull(RuntimeError):
    """Too many videos are waiting already."""


@dataclass(frozen=True)
class JobState:
    """A snapshot of one job, safe to hand to any thread."""

    id: str
    owner: str
    file: str
    status: str
    created_at: datetime
    frames_done: int = 0
    t_video: float = 0.0
    duration_s: float | None = None
    fraction: float | None = None
    speed_fps: float = 0.0
    session_id: int | None = None
    error: str | None = None


@dataclass
class _Job:
    state: JobState
    path: Path
    settings: AnalysisSettings
    sampler: FrameSampler
    cancel: threading.Event = field(default_factory=threading.Event)


class VideoJobs:
    """The jobs of one API process. Thread-safe: the event loop submits, reads and
    cancels; worker threads update the state through a lock."""

    def __init__(
        self,
        store: SessionStore,
        classifier: EmotionClassifier,
        model: ModelRef,
        workers: int = 1,
        max_queued: int = 8,
        kept: int = 200,
    ) -> None:
        self.store, self.classifier, self.model = store, classifier, model
        self.max_queued, self.kept = max_queued, kept
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="video")

    def submit(
        self,
        owner: str,
        file: str,
        path: Path,
        settings: AnalysisSettings,
        sampler: FrameSampler,
    ) -> JobState:
        """Queue the video at ``path`` (the job removes its folder when done)."""
        state = JobState(uuid.uuid4().hex, owner, file, "queued", datetime.now(UTC))
        job = _Job(state, path, settings, sampler)
        with self._lock:
            if sum(j.state.status == "queued" for j in self._jobs.values()) >= self.max_queued:
                raise QueueFull(f"{self.max_queued} videos are already waiting; try again later")
            self._jobs[state.id] = job
            self._forget_old()
        self._executor.submit(self._run, job)
        return state

    def get(self, job_id: str) -> JobState | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else job.state

    def cancel(self, job_id: str) -> JobState | None:
        """Ask a job to stop; a queued job ends at once, a running one at its next frame."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            job.cancel.set()
            if job.state.status == "queued":
                self._update(job, status="cancelled", error="Cancelled before it started.")
            return job.state

    def writing(self, session_id: int) -> bool:
        """Whether a running job is still recording into this session."""
        with self._lock:
            return any(
                j.state.session_id == session_id and j.state.status in ACTIVE
                for j in self._jobs.values()
            )

    def close(self) -> None:
        """Cancel every job and wait for the running ones to close their sessions."""
        with self._lock:
            for job in self._jobs.values():
                job.cancel.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for job in self._jobs.values():
                if job.state.status == "queued":
                    self._update(job, status="cancelled", error="The server stopped.")
                # A queued job whose run was dropped by the shutdown left its upload.
                shutil.rmtree(job.path.parent, ignore_errors=True)

    # -- worker side ---------------------------------------------------------------
    def _update(self, job: _Job, **changes) -> None:
        job.state = replace(job.state, **changes)  # callers hold the lock

    def _progress(self, job: _Job, p: Progress) -> None:
        with self._lock:
            self._update(
                job,
                frames_done=p.frames_done,
                t_video=p.t_video,
                duration_s=p.duration_s,
                fraction=p.fraction,
                speed_fps=p.speed_fps,
                session_id=p.session_id,
            )

    def _run(self, job: _Job) -> None:
        try:
            with self._lock:
                if job.cancel.is_set():
                    return
                self._update(job, status="running")
            result = analyse_video(
                job.path,
                self.classifier,
                job.settings,
                store=self.store,
                source_name=job.state.file,
                sampler=job.sampler,
                cancel=job.cancel,
                on_progress=lambda p: self._progress(job, p),
                model=self.model,
                owner=job.state.owner,
            )
            cancelled = job.cancel.is_set() and result.status == "incomplete"
            status = "cancelled" if cancelled else result.status
            with self._lock:
                self._update(
                    job,
                    status=status,
                    session_id=result.session_id,
                    frames_done=result.frames_analysed,
                    t_video=result.t_video,
                    error=result.error,
                )
        except MediaError as exc:  # nothing analysed: no session was kept
            status = "cancelled" if job.cancel.is_set() else "failed"
            with self._lock:
                self._update(job, status=status, error=str(exc), session_id=None)
        except Exception as exc:  # a bug or a lost database: say so, keep the server up
            log.exception("video job %s failed", job.state.id)
            with self._lock:
                self._update(job, status="failed", error=f"Internal error: {type(exc).__name__}")
        finally:
            shutil.rmtree(job.path.parent, ignore_errors=True)

    def _forget_old(self) -> None:
        """Drop the oldest finished jobs beyond ``kept`` (callers hold the lock)."""
        finished = [k for k, j in self._jobs.items() if j.state.status in FINISHED]
        for key in finished[: max(len(finished) - self.kept, 0)]:
            del self._jobs[key]
