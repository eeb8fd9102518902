"""The one thread-safe object between a browser session's video thread and its page.

The video thread calls :meth:`LiveSession.process` for each frame; the page calls
:meth:`update_settings` on every rerun and reads :meth:`snapshot` copies. Each stream
(START..STOP) gets its own pipeline (detector, tracker, smoother) and its own recorded
session; the classifier and store are shared by the whole server process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from emotion_core.classifier import EmotionClassifier
from emotion_core.pipeline import FramePipeline
from emotion_core.recording import SessionRecorder
from emotion_core.settings import AnalysisSettings
from emotion_core.store import SessionStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveSnapshot:
    """A copy of what the page shows: current faces and running counters."""

    session_id: int | None = None
    streaming: bool = False
    frames_analysed: int = 0
    fps: float = 0.0
    pipeline_ms: float = 0.0
    faces: tuple[tuple[int, str, float], ...] = ()  # (face id, label, confidence)
    label_counts: dict[str, int] = field(default_factory=dict)
    errors: int = 0


class LiveSession:
    """Per browser session; safe to call from the video thread and the page thread."""

    def __init__(self, classifier: EmotionClassifier, store: SessionStore) -> None:
        self._classifier, self._store = classifier, store
        self._lock = threading.Lock()
        self._settings = AnalysisSettings()
        self._pipeline: FramePipeline | None = None
        self._recorder: SessionRecorder | None = None
        self._snapshot = LiveSnapshot()
        self._counts: Counter[str] = Counter()
        self._t0_stream = 0.0
        self._t0_wall = 0.0
        self._last_wall = 0.0
        self._fps = 0.0
        self.errors = 0

    def update_settings(self, settings: AnalysisSettings) -> None:
        """Apply new settings to the running stream from the next frame on."""
        with self._lock:
            self._settings = settings
            if self._pipeline is not None:
                self._pipeline.settings = settings

    def _start(self, stream_time: float) -> FramePipeline:
        self._pipeline = FramePipeline(self._classifier, self._settings)
        self._recorder = SessionRecorder.start(self._store, "webcam", self._settings.to_dict())
        self._t0_stream, self._t0_wall = stream_time, time.time()
        self._counts.clear()
        self._fps = 0.0
        return self._pipeline

    def process(self, image_bgr: np.ndarray, stream_time: float | None) -> np.ndarray:
        """Analyse and annotate one frame (video thread). Never raises: an error is
        logged and counted, and the frame is passed through unchanged."""
        try:
            now = time.time()
            with self._lock:
                t = stream_time if stream_time is not None else now
                pipeline = self._pipeline or self._start(t)
                recorder = self._recorder
            if self._last_wall:
                inst = 1.0 / max(now - self._last_wall, 1e-3)
                self._fps = inst if not self._fps else 0.9 * self._fps + 0.1 * inst
            self._last_wall = now
            annotated, result = pipeline.process(image_bgr, t - self._t0_stream, self._fps)
            if result is not None and recorder is not None:
                recorder.record(result, now, t - self._t0_stream)
                self._counts.update(f.label for f in result.faces)
                self._snapshot = LiveSnapshot(
                    session_id=recorder.session_id,
                    streaming=True,
                    frames_analysed=result.frame_index // pipeline.settings.analyse_every_n + 1,
                    fps=self._fps,
                    pipeline_ms=result.timings.total_ms,
                    faces=tuple((f.face_id, f.label, f.confidence) for f in result.faces),
                    label_counts=dict(self._counts),
                    errors=self.errors,
                )
            return annotated
        except Exception:
            self.errors += 1
            log.exception("frame processing failed (%d errors so far)", self.errors)
            return image_bgr

    def stop(self) -> None:
        """End the stream: flush the recorder, close the session, free the detector."""
        with self._lock:
            recorder, pipeline = self._recorder, self._pipeline
            self._recorder = self._pipeline = None
            self._last_wall = 0.0
        if recorder is not None:
            recorder.stop()
        if pipeline is not None:
            pipeline.close()
        self._snapshot = LiveSnapshot(
            session_id=self._snapshot.session_id,
            frames_analysed=self._snapshot.frames_analysed,
            label_counts=self._snapshot.label_counts,
            errors=self.errors,
        )

    def snapshot(self) -> LiveSnapshot:
        return self._snapshot
