"""Video files: PyAV decoding, frame sampling, tracking, progress, cancellation, sessions.

Times come from each frame's own timestamp, so ``t_rel`` is the position in the video.
One fresh :class:`FramePipeline` per video: tracking and smoothing start clean.
Saved: nothing for a video refused up front (unreadable, no video stream, over
:data:`MAX_DURATION_S`); for a cancelled or failed run, the frames analysed so far as an
``"incomplete"`` session (deleted instead if no frame was analysed).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.container import InputContainer

from emotion_core.classifier import EmotionClassifier
from emotion_core.media import MediaError, MediaTooLarge, UnsupportedMedia
from emotion_core.model_files import ModelRef, model_columns
from emotion_core.overlay import draw_overlay
from emotion_core.pipeline import FramePipeline
from emotion_core.recording import SessionRecorder
from emotion_core.results import FrameResult
from emotion_core.segments import Segment
from emotion_core.settings import AnalysisSettings
from emotion_core.store import SessionStore

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".webm", ".mov", ".avi", ".mkv")
MAX_DURATION_S = 30 * 60  # longer videos are refused: ~1 h of CPU at 15 analysed fps
PROGRESS_INTERVAL_S = 0.25


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the first video stream."""

    duration_s: float | None  # None when the container does not say
    fps: float
    frames: int | None  # an estimate when the container has no frame count
    width: int  # as stored: a rotated (phone) video is shown the other way round
    height: int


@dataclass(frozen=True)
class Progress:
    """Where an analysis is; sent to the progress callback every 0.25 s."""

    session_id: int | None
    frames_done: int  # analysed (sampled) frames
    t_video: float  # seconds of video decoded so far
    duration_s: float | None
    elapsed_s: float

    @property
    def speed_fps(self) -> float:  # analysed frames per second of work
        return self.frames_done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def realtime_factor(self) -> float:  # seconds of video per second of work
        return self.t_video / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def fraction(self) -> float | None:
        return min(self.t_video / self.duration_s, 1.0) if self.duration_s else None

    def describe(self) -> str:
        """One line for a progress bar: frames done, speed and time left."""
        f = self.fraction
        left = f", about {self.elapsed_s * (1 - f) / f:.0f} s left" if f else ""
        speed = f"{self.speed_fps:.1f} frames/s ({self.realtime_factor:.2f}x real time)"
        return f"{self.frames_done} frames analysed, {speed}{left}"


@dataclass(frozen=True)
class VideoResult:
    """The outcome; ``error`` says why an ``"incomplete"`` analysis stopped."""

    session_id: int | None
    status: str  # "complete" or "incomplete"
    frames_analysed: int
    t_video: float
    elapsed_s: float
    info: VideoInfo
    annotated_path: Path | None = None
    error: str | None = None


class FrameSampler:
    """Which decoded frames to analyse: every Nth, or ``per_second`` per second of video."""

    def __init__(self, every_n: int = 1, per_second: float | None = None) -> None:
        if every_n < 1 or (per_second is not None and per_second <= 0):
            raise ValueError("every_n must be >= 1 and per_second > 0")
        self.every_n, self.per_second = every_n, per_second
        self._last_slot = -1

    def resume_after(self, t_before: float | None) -> FrameSampler:
        """Continue as if the frame at ``t_before`` (seconds) had just been seen: a
        segment starting mid-video then keeps exactly the frames a full run keeps."""
        if self.per_second is not None and t_before is not None:
            self._last_slot = math.floor(t_before * self.per_second + 1e-6)
        return self

    def keep(self, index: int, t: float) -> bool:
        if self.per_second is None:
            return index % self.every_n == 0
        slot = math.floor(t * self.per_second + 1e-6)  # one frame per 1/per_second slot
        keep, self._last_slot = slot > self._last_slot, max(slot, self._last_slot)
        return keep


def probe_video(path: Path) -> VideoInfo:
    """Read the header only; raises :class:`MediaError` for files that will be refused."""
    container, info = _open_video(Path(path))
    container.close()
    return info


def _open_video(path: Path) -> tuple[InputContainer, VideoInfo]:
    if path.stat().st_size == 0:
        raise MediaError("The file is empty (0 bytes).")
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise UnsupportedMedia(f"Not a video this app can read ({exc.strerror or exc}).") from None
    if not container.streams.video:
        container.close()
        raise UnsupportedMedia("The file has no video stream (audio only?).")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"  # frame-parallel decoding
    fps = float(stream.average_rate or stream.guessed_rate or 30)
    duration = float(stream.duration * stream.time_base) if stream.duration else None
    duration = duration or (container.duration / av.time_base if container.duration else None)
    if duration is not None and duration > MAX_DURATION_S:
        container.close()
        limit = f"the limit is {MAX_DURATION_S // 60} min. Trim it first."
        raise MediaTooLarge(f"The video is {duration / 60:.0f} min long; {limit}")
    frames = stream.frames or (round(duration * fps) if duration else None)
    return container, VideoInfo(duration, fps, frames, stream.width, stream.height)


class AnnotatedWriter:
    """Writes BGR frames to a video file: H.264 (libx264) when the PyAV wheel has it,
    which browsers play, else MPEG-4 part 2 (download only); ``codec`` overrides."""

    def __init__(self, path: Path, width: int, height: int, fps: float, codec: str = "") -> None:
        codec = codec or ("libx264" if "libx264" in av.codecs_available else "mpeg4")
        self.container = av.open(str(path), "w")
        self.stream = self.container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        self.w, self.h = width - width % 2, height - height % 2  # yuv420p needs even sizes
        self.stream.width, self.stream.height, self.stream.pix_fmt = self.w, self.h, "yuv420p"
        if codec == "libx264":
            self.stream.options = {"preset": "veryfast", "crf": "23"}

    def write(self, frame_bgr: np.ndarray) -> None:
        image = np.ascontiguousarray(frame_bgr[: self.h, : self.w])
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        self.container.mux(self.stream.encode(frame))

    def close(self) -> None:
        self.container.mux(self.stream.encode(None))
        self.container.close()


@dataclass
class _Job:
    """The state of one analysis; ``step`` handles one decoded frame."""

    pipeline: FramePipeline
    sampler: FrameSampler
    info: VideoInfo
    on_frame: Callable[[FrameResult, float], None] | None = None
    on_progress: Callable[[Progress], None] | None = None
    out_path: Path | None = None
    recorder: SessionRecorder | None = None
    writer: AnnotatedWriter | None = None
    analysed: int = 0
    t_video: float = 0.0
    start_pts: float | None = None
    last: FrameResult | None = None
    next_report: float = 0.0
    t0_wall: float = field(default_factory=time.time)
    t0_perf: float = field(default_factory=time.perf_counter)

    def clock(self, frame: av.VideoFrame, index: int) -> float:
        """Seconds since the video's first frame, from the frame's own timestamp."""
        t = frame.time if frame.time is not None else index / self.info.fps
        self.start_pts = t if self.start_pts is None else self.start_pts
        return max(t - self.start_pts, 0.0)

    def step(self, frame: av.VideoFrame, index: int, t: float) -> None:
        self.t_video = t
        keep = self.sampler.keep(index, t)
        if keep or self.out_path is not None:
            image = self.pipeline.prepare(_upright_bgr(frame))
            if keep:
                self.last = self.pipeline.analyse(image, index, t)
                self.analysed += 1
                if self.recorder is not None:
                    self.recorder.record(self.last, self.t0_wall + t, t)
                if self.on_frame is not None:
                    self.on_frame(self.last, t)
            if self.out_path is not None:
                self._write(image)
        self.report()

    def _write(self, image: np.ndarray) -> None:
        if self.writer is None:  # sized from the first (rotated) frame
            h, w = image.shape[:2]
            self.writer = AnnotatedWriter(self.out_path, w, h, self.info.fps)
        if self.last is not None:
            draw_overlay(image, self.last, self.pipeline.settings, None)
        self.writer.write(image)

    def report(self, force: bool = False) -> None:
        elapsed = time.perf_counter() - self.t0_perf
        if self.on_progress is None or (elapsed < self.next_report and not force):
            return
        self.next_report = elapsed + PROGRESS_INTERVAL_S
        sid = self.recorder.session_id if self.recorder else None
        self.on_progress(Progress(sid, self.analysed, self.t_video, self.info.duration_s, elapsed))


def _upright_bgr(frame: av.VideoFrame) -> np.ndarray:
    """The frame as BGR, turned upright: phone videos store portrait frames sideways
    with a rotation for display."""
    return np.rot90(frame.to_ndarray(format="bgr24"), round(frame.rotation / 90))


def read_frame_at(path: Path, seconds: float) -> np.ndarray:
    """The upright BGR frame shown at ``seconds`` into the video (the first frame at or
    after that time, the last one if the video is shorter), e.g. to pick a face from.
    Decodes from the start: simple, and the duration is capped. Raises MediaError."""
    container, info = _open_video(Path(path))
    try:
        last, start = None, None
        for index, frame in enumerate(container.decode(video=0)):
            t = frame.time if frame.time is not None else index / info.fps
            start = t if start is None else start
            last = frame
            if t - start >= seconds - 1e-6:
                break
    except av.FFmpegError as exc:
        if last is None:
            raise MediaError(f"Decoding failed ({exc.strerror or exc}).") from None
    finally:
        container.close()
    if last is None:
        raise MediaError("No frame could be decoded.")
    return np.ascontiguousarray(_upright_bgr(last))


def _decode_all(job: _Job, container: InputContainer, cancel: threading.Event | None) -> str | None:
    """Run every frame through the job; returns why it stopped early, or None."""
    try:
        for index, frame in enumerate(container.decode(video=0)):
            if cancel is not None and cancel.is_set():
                return f"Cancelled at {job.t_video:.1f} s."
            t = job.clock(frame, index)
            if t > MAX_DURATION_S:
                return f"Stopped at the {MAX_DURATION_S // 60}-minute limit."
            job.step(frame, index, t)
    except av.FFmpegError as exc:
        return f"Decoding failed at {job.t_video:.1f} s ({exc.strerror or exc})."
    end, slack = job.info.duration_s, max(2 / job.info.fps, 0.05 * (job.info.duration_s or 0))
    if job.analysed and end and job.t_video + slack < end:  # FFmpeg ends quietly on truncation
        return f"The video stops at {job.t_video:.1f} s of {end:.1f} s: the file looks truncated."
    return None if job.analysed else "No frame could be decoded."


def video_session_settings(settings: AnalysisSettings, sampler: FrameSampler) -> dict:
    """The settings a video session records: the pipeline's and the frame sampling."""
    s = replace(settings, mirror=False, draw_fps=False, analyse_every_n=1)
    recorded = {**s.to_dict(), "sample_every_n": sampler.every_n}
    recorded["sample_per_second"] = sampler.per_second
    return recorded


def analyse_video(
    path: Path,
    classifier: EmotionClassifier,
    settings: AnalysisSettings,
    *,
    store: SessionStore | None = None,
    source_name: str | None = None,
    sampler: FrameSampler | None = None,
    cancel: threading.Event | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_frame: Callable[[FrameResult, float], None] | None = None,
    annotated_path: Path | None = None,
    model: ModelRef | None = None,
    owner: str | None = None,
) -> VideoResult:
    """Analyse a video file, recording a session (source "video") when ``store`` is given
    (``model`` names the classifier's file in the session, ``owner`` its API key owner).

    ``on_frame(result, t_rel)`` sees every analysed frame; ``on_progress`` gets a
    :class:`Progress`. An exception raised by a callback (e.g. Streamlit stopping the run
    for a rerun) propagates after the session is closed as "incomplete".
    Raises :class:`MediaError` if the file is refused or no frame could be analysed.
    """
    path = Path(path)
    container, info = _open_video(path)
    s = replace(settings, mirror=False, draw_fps=False, analyse_every_n=1)  # sampler samples
    sampler = sampler or FrameSampler()
    job = _Job(FramePipeline(classifier, s), sampler, info, on_frame, on_progress, annotated_path)
    error = "Interrupted."  # kept if a callback raises (Streamlit rerun, Ctrl-C)
    try:
        if store is not None:
            name = source_name or path.name
            job.recorder = SessionRecorder.start(
                store,
                "video",
                video_session_settings(settings, sampler),
                source_name=name,
                owner=owner,
                **model_columns(model),
            )
        error = _decode_all(job, container, cancel)
    finally:
        container.close()
        job.pipeline.close()
        if job.writer is not None:
            job.writer.close()
        session_id = _finish(job, store, error)
    if job.analysed == 0:
        raise MediaError(error or "No frame could be decoded.")
    job.report(force=True)
    elapsed = time.perf_counter() - job.t0_perf
    status = "complete" if error is None else "incomplete"
    return VideoResult(
        session_id, status, job.analysed, job.t_video, elapsed, info, annotated_path, error
    )


def _finish(job: _Job, store: SessionStore | None, error: str | None) -> int | None:
    """Close the session: complete, incomplete, or deleted when nothing was analysed."""
    if job.recorder is None or store is None:
        return None
    job.recorder.stop("complete" if error is None else "incomplete")
    if job.analysed == 0:
        store.delete_session(job.recorder.session_id)
    return job.recorder.session_id if job.analysed else None


@dataclass(frozen=True)
class SegmentResult:
    """What one segment's worker found; ``error`` says why decoding stopped early."""

    frames_analysed: int
    t_video: float  # t_rel of the last decoded frame
    error: str | None = None


def analyse_segment(
    path: Path,
    classifier: EmotionClassifier,
    settings: AnalysisSettings,
    segment: Segment,
    sampler: FrameSampler,
    on_frame: Callable[[FrameResult, float], None],
) -> SegmentResult:
    """Analyse one :class:`~emotion_core.segments.Segment` (warm-up included) exactly as
    :func:`analyse_video` analyses those frames: same frame indices, same ``t_rel``,
    same sampling. ``sampler`` must be fresh; ``on_frame(result, t_rel)`` sees every
    analysed frame. Raises :class:`MediaError` if the file is refused or a decoded frame
    is not in the segment's frame table (the file changed since it was scanned).
    """
    path = Path(path)
    container, info = _open_video(path)
    s = replace(settings, mirror=False, draw_fps=False, analyse_every_n=1)
    sampler.resume_after(segment.t_before)
    job = _Job(FramePipeline(classifier, s), sampler, info, on_frame)
    try:
        error = _decode_segment(job, container, segment)
    finally:
        container.close()
        job.pipeline.close()
    return SegmentResult(job.analysed, job.t_video, error)


def _decode_segment(job: _Job, container: InputContainer, segment: Segment) -> str | None:
    stream = container.streams.video[0]
    index_of = {pts: segment.warm_first + i for i, pts in enumerate(segment.pts)}
    if segment.warm_first > 0:  # a keyframe: the decoder starts clean there
        container.seek(segment.pts[0], stream=stream, backward=True, any_frame=False)
    try:
        for frame in container.decode(stream):
            if frame.pts is None or frame.pts < segment.pts[0]:
                continue  # the demuxer landed on an earlier keyframe
            if segment.end_pts is not None and frame.pts >= segment.end_pts:
                return None
            index = index_of.get(frame.pts)
            if index is None:
                raise MediaError(f"Frame at pts {frame.pts} is not in the scan; re-run.")
            job.step(frame, index, max(frame.time - segment.start_time, 0.0))
    except av.FFmpegError as exc:
        return f"Decoding failed at {job.t_video:.1f} s ({exc.strerror or exc})."
    if segment.end_pts is not None:
        return f"The video stops at {job.t_video:.1f} s: the file looks truncated."
    return None
