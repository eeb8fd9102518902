"""The one thread-safe object between a browser session's video thread and its page.

The video thread calls :meth:`LiveSession.process` for each frame; the page calls
:meth:`update_settings`, :meth:`set_recording`, :meth:`pause` / :meth:`resume` and
:meth:`mark` and reads :meth:`snapshot` copies, :meth:`timeline` tables and, on an
explicit click only, :meth:`snapshot_png` or :meth:`face_crop` (a face to save for
training). Each stream (START..STOP) gets its own
pipeline (detector, tracker, smoother) and, while recording is on, its own session;
the classifier and store are shared by the whole server process.

Pausing keeps the video flowing (with a "PAUSED" banner) but analyses and records
nothing; recording switched off analyses without writing. Both stretches are stored
as gaps of the session, so the analytics draw them as gaps, not as face-less time.

When the server falls far behind the camera (see :mod:`emotion_core.overload`), a
:class:`FrameSkipper` makes the stream analyse 1 in N frames and draw the last results
on the others (the snapshot's ``busy_every_n`` says so to the page); the rows then
simply come less often, and their ``frame_index`` counts every frame received, so the
analysed rate stays readable in the session. With ``stall_timeout_s`` (the Live page
passes :data:`STALL_TIMEOUT_S`), a stream whose frames stop coming (a closed tab) is
ended as ``incomplete`` by the process's :data:`WATCHDOG`; without it (callers that
feed frames themselves, such as tests) a stream ends only with :meth:`stop`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import pandas as pd

from emotion_core.classifier import EmotionClassifier
from emotion_core.live_timeline import LiveTimeline
from emotion_core.model_files import ModelRef, model_columns
from emotion_core.overlay import draw_banner
from emotion_core.overload import FrameSkipper, OverloadPolicy
from emotion_core.pipeline import FramePipeline
from emotion_core.recording import SessionRecorder
from emotion_core.results import FaceResult, FrameResult
from emotion_core.settings import AnalysisSettings
from emotion_core.stall_watchdog import WATCHDOG, StallWatchdog, stall_clock
from emotion_core.store import SessionStore, clean_note

log = logging.getLogger(__name__)
PAUSED_TEXT = "PAUSED - not analysed, not recorded"
REPEAT_MARK_S = 1.0  # the same note again within this is the same click (see mark)
STALL_TIMEOUT_S = 5.0  # no frame for this long: the viewer is gone (closed tab)


class LiveError(RuntimeError):
    """A page action that cannot be done now; the message is for the user."""


@dataclass(frozen=True)
class LiveSnapshot:
    """A copy of what the page shows: current faces, running counters and the state."""

    session_id: int | None = None
    streaming: bool = False
    frames_analysed: int = 0
    fps: float = 0.0
    pipeline_ms: float = 0.0
    faces: tuple[tuple[int, str, float], ...] = ()  # (face id, label, confidence)
    label_counts: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    paused: bool = False
    recording: bool = False  # frames are being written to session ``session_id`` now
    markers: int = 0
    busy_every_n: int = 1  # > 1: the server is busy and analyses 1 in this many frames


class LiveSession:
    """Per browser session; safe to call from the video thread and the page thread."""

    def __init__(
        self,
        classifier: EmotionClassifier,
        store: SessionStore,
        model: ModelRef | None = None,
        owner: str | None = None,
        overload: OverloadPolicy | None = None,
        stall_timeout_s: float | None = None,
        watchdog: StallWatchdog = WATCHDOG,
    ) -> None:
        """``owner``: who the recorded sessions belong to (emotion_core.access)."""
        self._classifier, self._store, self._model = classifier, store, model
        self._owner = owner
        self._overload = overload or OverloadPolicy()
        self._skipper = FrameSkipper(self._overload)
        self._stall_timeout_s, self._watchdog = stall_timeout_s, watchdog
        self._in_frame = False
        self._last_frame_at = 0.0  # stall_clock() when the last frame left
        self._analysed = 0
        self._lock = threading.Lock()
        self._settings = AnalysisSettings()
        self._pipeline: FramePipeline | None = None
        self._recorder: SessionRecorder | None = None
        self._snapshot = LiveSnapshot()
        self._counts: Counter[str] = Counter()
        self._t0_stream = self._t0_session = self._last_t = 0.0
        self._last_wall = 0.0
        self._fps = self._gap_s = 0.0
        self._record = True
        self._paused = False
        self._paused_since = self._off_since = 0.0  # stream seconds
        self._markers = 0
        self._last_mark: tuple[float, tuple[int, str], float] | None = None
        self._last_frame: np.ndarray | None = None
        self._last_faces: tuple[FaceResult, ...] = ()  # of the last analysed frame
        self._timeline = LiveTimeline()
        self._closed = False  # see close()
        self.errors = 0

    # -- page thread -----------------------------------------------------------------
    def update_settings(self, settings: AnalysisSettings) -> None:
        """Apply new settings to the running stream from the next frame on."""
        with self._lock:
            self._settings = settings
            if self._pipeline is not None:
                self._pipeline.settings = settings

    def update_model(self, classifier: EmotionClassifier, model: ModelRef | None) -> None:
        """Use another model from the next START on (a session holds one model's numbers)."""
        with self._lock:
            self._classifier, self._model = classifier, model

    def set_recording(self, on: bool) -> None:
        """Record (or not) from the next frame on. Switched off during a session, the
        stretch until it is switched on again is stored as a "not recorded" gap."""
        gap = None
        with self._lock:
            if on == self._record:
                return
            self._record = on
            if self._pipeline is not None:  # the page shows the new state at once
                self._snapshot = replace(
                    self._snapshot, recording=on and self._recorder is not None
                )
            if self._recorder is not None and not on:
                self._off_since = self._last_t
            elif self._recorder is not None:
                gap = self._gap(self._off_since)
        if gap is not None:
            self._store.add_gap(*gap, "not recorded")

    def pause(self) -> bool:
        """Stop analysing (the video keeps flowing); False if nothing is streaming or
        already paused."""
        with self._lock:
            if self._pipeline is None or self._paused:
                return False
            self._paused, self._paused_since = True, self._last_t
            self._snapshot = replace(self._snapshot, paused=True, faces=())
            self._last_faces = ()
            return True

    def resume(self) -> bool:
        """Analyse again; the paused stretch becomes a "paused" gap of the session."""
        with self._lock:
            if not self._paused:
                return False
            self._paused = False
            self._snapshot = replace(self._snapshot, paused=False)
            gap = self._gap(self._paused_since)
        if gap is not None:
            self._store.add_gap(*gap, "paused")
        return True

    def mark(self, note: str = "") -> float:
        """Store a marker at the current moment of the recorded session; returns its
        t_rel. Raises :class:`LiveError` (nothing streaming or not recording) or
        ValueError (note too long).

        The same note again within :data:`REPEAT_MARK_S` is one click delivered twice
        (a double click, or a button trigger delivered twice, which the browser test
        showed once, probably a rerun overlapping the Live fragment): it returns the
        first marker's time and stores nothing."""
        text = clean_note(note)
        with self._lock:
            if self._pipeline is None:
                raise LiveError("Nothing is streaming: press START first.")
            if self._recorder is None or not self._record:
                raise LiveError("Recording is off: a marker needs a recorded session.")
            sid, t_rel = self._recorder.session_id, self._last_t - self._t0_session
            now = time.monotonic()
            last = self._last_mark
            if last and last[1] == (sid, text) and now - last[0] < REPEAT_MARK_S:
                return last[2]
            self._last_mark = (now, (sid, text), t_rel)
            self._markers += 1
            self._snapshot = replace(self._snapshot, markers=self._markers)
        self._store.add_marker(sid, t_rel, text, t_wall=time.time())
        return t_rel

    def snapshot(self) -> LiveSnapshot:
        return self._snapshot

    def timeline(self) -> pd.DataFrame:
        """The last minute of every face (see :meth:`LiveTimeline.table`)."""
        return self._timeline.table()

    def snapshot_png(self) -> bytes | None:
        """The last annotated frame as PNG bytes, encoded now, in memory only; None
        when nothing is streaming. Call it only on the user's explicit request."""
        frame = self._last_frame
        if frame is None or self._pipeline is None:
            return None
        ok, png = cv2.imencode(".png", frame)
        return png.tobytes() if ok else None

    def face_crop(self, face_id: int) -> np.ndarray | None:
        """A copy of face ``face_id``'s 48x48 grey crop from the last analysed frame,
        exactly as the classifier received it; None if that face is not in view (or
        nothing is streaming). Call it only on the user's explicit request."""
        for face in self._last_faces:  # one reference read: the video thread swaps it
            if face.face_id == face_id and face.face48 is not None:
                return face.face48.copy()
        return None

    # -- video thread ------------------------------------------------------------------
    def process(self, image_bgr: np.ndarray, stream_time: float | None) -> np.ndarray:
        """Analyse and annotate one frame (video thread). Never raises: an error is
        logged and counted, and the frame is passed through unchanged."""
        try:
            now = time.time()
            with self._lock:
                if self._closed:  # checked under the lock: close() may run meanwhile
                    return image_bgr
                t = stream_time if stream_time is not None else now
                pipeline = self._pipeline or self._start(t)
                if self._record and self._recorder is None:
                    self._open_session(t)
                recorder = self._recorder if self._record else None
                paused, self._last_t = self._paused, t
                skipper, self._in_frame = self._skipper, True
            if self._last_wall:  # average the gaps, not their inverses (which overstate)
                gap = max(now - self._last_wall, 1e-3)
                self._gap_s = gap if not self._gap_s else 0.9 * self._gap_s + 0.1 * gap
                self._fps = 1.0 / self._gap_s
            self._last_wall = now
            if paused:
                annotated = draw_banner(pipeline.prepare(image_bgr), PAUSED_TEXT)
                self._timeline.tick(t - self._t0_stream)
                self._publish(recorder, paused=True)
            else:
                analyse = skipper.decide(t, pipeline.settings.analyse_every_n)
                annotated, result = pipeline.process(
                    image_bgr, t - self._t0_stream, self._fps, analyse=analyse
                )
                skipper.done(result is not None)
                if result is not None:
                    self._analysed += 1
                    if recorder is not None:
                        recorder.record(result, now, t - self._t0_session)
                    self._timeline.add(t - self._t0_stream, result)
                    self._last_faces = result.faces
                    self._counts.update(f.label for f in result.faces)
                    self._publish(recorder, result)
            self._last_frame = annotated
            return annotated
        except Exception:
            self.errors += 1
            log.exception("frame processing failed (%d errors so far)", self.errors)
            return image_bgr
        finally:
            self._in_frame, self._last_frame_at = False, stall_clock()

    def end_if_stalled(self, now: float) -> bool:
        """End the stream as ``incomplete`` if no frame came for ``stall_timeout_s``
        (the watchdog's hook, see :mod:`emotion_core.stall_watchdog`); True when
        nothing is streaming any more."""
        with self._lock:
            if self._pipeline is None or self._stall_timeout_s is None:
                return True
            if self._in_frame or now - self._last_frame_at < self._stall_timeout_s:
                return False
            sid = self._recorder.session_id if self._recorder is not None else None
        quiet = now - self._last_frame_at
        log.warning("no frame for %.1f s: stream ended, session %s incomplete", quiet, sid)
        self.stop("incomplete")
        return True

    def close(self) -> None:
        """End the stream for good (the user's sign-in expired): :meth:`stop` with the
        session marked "incomplete" (every recorded row kept), then pass any frame the
        browser still sends through untouched, never opening a new session. The page
        makes a new LiveSession after the user signs in again."""
        with self._lock:
            self._closed = True
        self.stop("incomplete")

    def stop(self, status: str = "complete") -> None:
        """End the stream: close open gaps, flush the recorder, close the session with
        ``status``, free the detector, forget the last frame and the live timeline."""
        with self._lock:
            recorder, pipeline = self._recorder, self._pipeline
            gaps = []
            if recorder is not None and self._paused:
                gaps.append((*self._gap(self._paused_since), "paused"))
            if recorder is not None and not self._record:
                gaps.append((*self._gap(self._off_since), "not recorded"))
            self._recorder = self._pipeline = None
            self._paused, self._last_wall, self._last_frame = False, 0.0, None
            self._last_faces = ()
        for gap in gaps:
            self._store.add_gap(*gap)
        if recorder is not None:
            recorder.stop(status)
        if pipeline is not None:
            pipeline.close()
        self._watchdog.forget(self)
        self._timeline.clear()
        self._snapshot = LiveSnapshot(
            session_id=self._snapshot.session_id,
            frames_analysed=self._analysed,
            label_counts=self._snapshot.label_counts,
            errors=self.errors,
            markers=self._markers,
        )

    # -- internals (callers hold the lock) ---------------------------------------------
    def _start(self, stream_time: float) -> FramePipeline:
        self._pipeline = FramePipeline(self._classifier, self._settings)
        self._skipper = FrameSkipper(self._overload)
        self._t0_stream = self._last_t = stream_time
        self._counts.clear()
        self._fps = self._gap_s = 0.0
        self._markers = self._analysed = 0
        self._snapshot = LiveSnapshot(streaming=True, recording=self._record)
        self._last_frame_at = stall_clock()
        if self._stall_timeout_s is not None:
            self._watchdog.watch(self)
        return self._pipeline

    def _open_session(self, stream_time: float) -> None:
        self._recorder = SessionRecorder.start(
            self._store,
            "webcam",
            self._settings.to_dict(),
            owner=self._owner,
            **model_columns(self._model),
        )
        self._t0_session = stream_time

    def _gap(self, since: float) -> tuple[int, float, float] | None:
        """(session id, start, end) in session seconds from stream time ``since`` to now."""
        if self._recorder is None:
            return None
        start = max(since - self._t0_session, 0.0)
        return self._recorder.session_id, start, max(self._last_t - self._t0_session, start)

    def _publish(
        self,
        recorder: SessionRecorder | None,
        result: FrameResult | None = None,
        paused: bool = False,
    ) -> None:
        """A new snapshot for the page (video thread): a fresh result, or a paused frame."""
        old = self._snapshot
        fresh = result is not None
        self._snapshot = LiveSnapshot(
            session_id=recorder.session_id if recorder is not None else old.session_id,
            streaming=True,
            frames_analysed=self._analysed,
            fps=self._fps,
            pipeline_ms=result.timings.total_ms if fresh else 0.0,
            faces=tuple((f.face_id, f.label, f.confidence) for f in result.faces) if fresh else (),
            label_counts=dict(self._counts),
            errors=self.errors,
            paused=paused,
            recording=recorder is not None,
            markers=self._markers,
            busy_every_n=self._busy_every_n(),
        )

    def _busy_every_n(self) -> int:
        """N of "analysing 1 in N frames" when the server chose it (above the user's)."""
        auto, own = self._skipper.every_n, self._settings.analyse_every_n
        return auto if auto > own else 1
