"""Face detection: the MediaPipe adapter (the only module that touches MediaPipe).

Uses ``mp.solutions.face_detection`` from mediapipe 0.10.21, whose BlazeFace models
ship inside the wheel (newer releases download them at run time, which we never do).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from types import ModuleType

import cv2
import numpy as np

log = logging.getLogger(__name__)


def import_mediapipe() -> ModuleType:
    """Import MediaPipe without letting it import TensorFlow.

    mediapipe's tasks package imports ``tensorflow.tools.docs`` (for API-doc decorators
    only) whenever TensorFlow is installed, which it is here for training. That pulls ~2 s
    and ~500 MB of TensorFlow into the app's process, and with it Keras, whose
    ``clear_session`` Streamlit then runs after every script run, stalling the video
    thread. Marking TensorFlow absent for the duration of the import makes mediapipe take
    its documented no-TensorFlow path; a process that already has TensorFlow is untouched.
    """
    if "mediapipe" in sys.modules or "tensorflow" in sys.modules:
        import mediapipe

        return mediapipe
    sys.modules["tensorflow"] = None  # type: ignore[assignment]  # import -> ModuleNotFoundError
    try:
        import mediapipe
    finally:
        if sys.modules.get("tensorflow", 0) is None:
            del sys.modules["tensorflow"]
    return mediapipe


Point = tuple[float, float]


@dataclass(frozen=True)
class FaceBox:
    """A detected face in pixel coordinates of the frame, clipped to it, with the centres
    of its two eyes (pixels, may lie outside the frame) when the detector gives them."""

    x: int
    y: int
    w: int
    h: int
    score: float
    eyes: tuple[Point, Point] | None = None

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)

    def scaled(self, sx: float, sy: float) -> FaceBox:
        """The same face in a frame resized by (``sx``, ``sy``)."""
        eyes = None
        if self.eyes is not None:
            (lx, ly), (rx, ry) = self.eyes
            eyes = ((lx * sx, ly * sy), (rx * sx, ry * sy))
        return FaceBox(
            round(self.x * sx), round(self.y * sy), round(self.w * sx), round(self.h * sy),
            self.score, eyes,
        )  # fmt: skip

    def iou(self, other: FaceBox) -> float:
        """Intersection over union with another box (0..1)."""
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0


class FaceDetector:
    """BlazeFace via MediaPipe. Not thread-safe: make one per stream or per job.

    ``model_range`` "short" suits faces within ~2 m (webcam); "full" finds smaller,
    farther faces but misses faces that fill most of the frame (see docs/design.md).
    """

    def __init__(self, model_range: str = "short", min_confidence: float = 0.5) -> None:
        mp = import_mediapipe()
        if model_range not in ("short", "full"):
            raise ValueError(f"model_range must be 'short' or 'full', not {model_range!r}")
        self.model_range = model_range
        self.min_confidence = min_confidence
        self._detector = mp.solutions.face_detection.FaceDetection(
            model_selection=0 if model_range == "short" else 1,
            min_detection_confidence=min_confidence,
        )

    def detect(self, frame_bgr: np.ndarray, max_faces: int = 20) -> list[FaceBox]:
        """Faces in a BGR (or grey) uint8 frame, highest score first, at most ``max_faces``."""
        if frame_bgr.ndim == 2:
            frame_rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_GRAY2RGB)
        else:
            frame_rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        result = self._detector.process(frame_rgb)
        if not result.detections:
            return []
        fh, fw = frame_rgb.shape[:2]
        boxes = []
        for det in result.detections:
            rel = det.location_data.relative_bounding_box
            x0 = max(int(round(rel.xmin * fw)), 0)
            y0 = max(int(round(rel.ymin * fh)), 0)
            x1 = min(int(round((rel.xmin + rel.width) * fw)), fw)
            y1 = min(int(round((rel.ymin + rel.height) * fh)), fh)
            if x1 - x0 >= 4 and y1 - y0 >= 4:
                kps = det.location_data.relative_keypoints
                eyes = (
                    ((kps[0].x * fw, kps[0].y * fh), (kps[1].x * fw, kps[1].y * fh))
                    if len(kps) >= 2
                    else None
                )
                boxes.append(FaceBox(x0, y0, x1 - x0, y1 - y0, float(det.score[0]), eyes))
        boxes.sort(key=lambda b: b.score, reverse=True)
        return boxes[:max_faces]

    def close(self) -> None:
        self._detector.close()

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
