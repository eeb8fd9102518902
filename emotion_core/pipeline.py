"""The per-frame pipeline: frame -> faces -> predictions -> smoothed results.

One :class:`FramePipeline` per stream or video job (it owns a detector, a tracker and
a smoother); the classifier is shared read-only across all of them. No I/O here.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from emotion_core.classifier import EmotionClassifier
from emotion_core.detection import FaceDetector
from emotion_core.emotions import LABELS, UNCERTAIN
from emotion_core.overlay import draw_overlay
from emotion_core.preprocessing import (
    crop_face,
    enhance_low_light,
    face_to_grey48,
    to_bgr,
    to_grey,
    to_model_input,
)
from emotion_core.results import FaceResult, FrameResult, StageTimings
from emotion_core.settings import AnalysisSettings
from emotion_core.smoothing import ProbabilitySmoother
from emotion_core.tracking import FaceTracker


def label_for(probabilities: np.ndarray, uncertain_threshold: float) -> tuple[str, float]:
    """The top emotion and its probability, or "uncertain" when it is below the threshold."""
    top = int(np.argmax(probabilities))
    confidence = float(probabilities[top])
    return (LABELS[top] if confidence >= uncertain_threshold else UNCERTAIN), confidence


class FramePipeline:
    """Runs detection, batched classification, tracking and smoothing on BGR frames.

    Settings are read on every frame from :attr:`settings`, which the owner may replace
    at any time with a new :class:`AnalysisSettings` (the detector is rebuilt only when
    its own options change). Not thread-safe: one caller thread at a time.
    """

    def __init__(self, classifier: EmotionClassifier, settings: AnalysisSettings | None = None):
        self.classifier = classifier
        self.settings = settings or AnalysisSettings()
        self.tracker = FaceTracker()
        self.smoother = ProbabilitySmoother()
        self._detector: FaceDetector | None = None
        self._frames_seen = 0
        self._last: FrameResult | None = None

    def _detector_for(self, s: AnalysisSettings) -> FaceDetector:
        d = self._detector
        if (
            d is None
            or d.model_range != s.detector_range
            or d.min_confidence != s.min_detection_confidence
        ):
            if d is not None:
                d.close()
            d = self._detector = FaceDetector(s.detector_range, s.min_detection_confidence)
        return d

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """The frame as the pipeline analyses and shows it: BGR, mirrored and
        low-light-enhanced as the settings say."""
        s = self.settings
        frame = to_bgr(image)
        if s.mirror:
            frame = frame[:, ::-1]
        if s.low_light:
            return enhance_low_light(np.ascontiguousarray(frame))  # a new array
        # A fresh array: the overlay draws in place and must not touch the caller's frame.
        return frame.copy()

    def analyse(self, frame_bgr: np.ndarray, frame_index: int, timestamp: float) -> FrameResult:
        """Analyse a prepared BGR frame (see :meth:`prepare`)."""
        s = self.settings
        t0 = time.perf_counter()
        boxes = self._detector_for(s).detect(frame_bgr, s.max_faces)
        t1 = time.perf_counter()
        # Grey once per frame, then crop: warping one channel instead of three per face
        # (the same pixels within rounding, since both steps are linear).
        grey = to_grey(frame_bgr) if boxes else frame_bgr
        crops = [face_to_grey48(crop_face(grey, b.as_tuple(), b.eyes)) for b in boxes]
        predict = self.classifier.predict_tta if s.mirror_averaging else self.classifier.predict
        raw = (
            predict(to_model_input(np.stack(crops)))
            if crops
            else np.zeros((0, len(LABELS)), np.float32)
        )
        t2 = time.perf_counter()
        ids, dropped = self.tracker.update(boxes, (frame_bgr.shape[1], frame_bgr.shape[0]))
        self.smoother.forget(dropped)
        faces = []
        for face_id, box, probs, face48 in zip(ids, boxes, raw, crops):
            smoothed = self.smoother.update(face_id, probs, s.smoothing)
            label, confidence = label_for(smoothed, s.uncertain_threshold)
            faces.append(FaceResult(face_id, box, probs, smoothed, label, confidence, face48))
        t3 = time.perf_counter()
        h, w = frame_bgr.shape[:2]
        return FrameResult(
            frame_index,
            timestamp,
            w,
            h,
            tuple(faces),
            StageTimings((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3),
        )

    def process(
        self,
        image: np.ndarray,
        timestamp: float,
        fps: float | None = None,
        analyse: bool | None = None,
    ) -> tuple[np.ndarray, FrameResult | None]:
        """Prepare, analyse (every Nth frame, as the settings say, unless ``analyse``
        decides) and draw one frame.

        Returns the annotated BGR frame and the new result, or None for a frame that
        was not analysed (it shows the last result's overlay instead). ``frame_index``
        counts every frame given, analysed or not.
        """
        s = self.settings
        frame = self.prepare(image)
        index = self._frames_seen
        self._frames_seen += 1
        fresh = None
        if analyse is None:
            analyse = index % s.analyse_every_n == 0
        if self._last is None or analyse:
            fresh = self._last = self.analyse(frame, index, timestamp)
        t0 = time.perf_counter()
        draw_overlay(frame, self._last, s, fps)
        if fresh is not None:
            timings = replace(fresh.timings, overlay_ms=(time.perf_counter() - t0) * 1e3)
            fresh = self._last = replace(fresh, timings=timings)
        return frame, fresh

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None
