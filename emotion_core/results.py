"""Typed values the pipeline produces and the overlay, recorder and pages consume."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emotion_core.detection import FaceBox


@dataclass(frozen=True)
class FaceResult:
    """One face in one analysed frame. Probabilities are in Emotion order."""

    face_id: int
    box: FaceBox
    raw: np.ndarray
    smoothed: np.ndarray
    label: str  # an Emotion value, or "uncertain"
    confidence: float  # the top smoothed probability
    # The 48x48 uint8 grey crop exactly as the classifier received it (before scaling to
    # 0..1): what a user may save as a training face. In memory only, never recorded.
    face48: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class StageTimings:
    """Milliseconds spent in each stage of one frame."""

    detect_ms: float = 0.0
    classify_ms: float = 0.0
    track_ms: float = 0.0
    overlay_ms: float = 0.0

    @property
    def total_ms(self) -> float:
        return self.detect_ms + self.classify_ms + self.track_ms + self.overlay_ms


@dataclass(frozen=True)
class FrameResult:
    """What the pipeline found in one frame; ``faces`` is empty for a no-face frame."""

    frame_index: int
    timestamp: float  # seconds on the source's clock (stream or video time)
    width: int
    height: int
    faces: tuple[FaceResult, ...] = ()
    timings: StageTimings = field(default_factory=StageTimings)
