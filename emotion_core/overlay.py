"""Drawing results onto the frame: boxes, labels, probability bars, IDs and FPS."""

from __future__ import annotations

import cv2
import numpy as np

from emotion_core.emotions import EMOTION_COLORS, LABELS, hex_to_bgr
from emotion_core.results import FaceResult, FrameResult
from emotion_core.settings import AnalysisSettings

FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
NO_FACE_TEXT = "No face detected"


def _text(
    img: np.ndarray,
    text: str,
    org: tuple[int, int],
    scale: float,
    color=WHITE,
    bg=BLACK,
    thickness: int = 1,
) -> int:
    """Text on a filled background box; returns the box height."""
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    x, y = org
    cv2.rectangle(img, (x, y - th - base - 2), (x + tw + 4, y + 2), bg, -1)
    cv2.putText(img, text, (x + 2, y - base + 1), FONT, scale, color, thickness, cv2.LINE_AA)
    return th + base + 4


def _scale_for(frame: np.ndarray) -> float:
    return max(0.4, min(frame.shape[:2]) / 900.0)


def draw_face(img: np.ndarray, face: FaceResult, s: AnalysisSettings, scale: float) -> None:
    color = hex_to_bgr(EMOTION_COLORS[face.label])
    b = face.box
    thick = max(1, int(round(2 * scale)))
    if s.draw_box:
        cv2.rectangle(img, (b.x, b.y), (b.x + b.w, b.y + b.h), color, thick)
    parts = []
    if s.draw_face_id:
        parts.append(f"#{face.face_id}")
    if s.draw_label:
        parts.append(f"{face.label} {face.confidence:.0%}")
    if parts:
        label_y = b.y - 4 if b.y > 30 * scale else b.y + b.h + int(22 * scale)
        text_color = BLACK if face.label in ("happy", "surprise", "neutral") else WHITE
        _text(img, " ".join(parts), (b.x, label_y), 0.6 * scale, text_color, color, thick)
    if s.draw_probabilities:
        _draw_bars(img, face, scale)


def _draw_bars(img: np.ndarray, face: FaceResult, scale: float) -> None:
    """Seven horizontal bars beside the face (right side, or left when no room)."""
    b = face.box
    row_h = max(10, int(14 * scale))
    width = int(110 * scale)
    x = b.x + b.w + 6
    if x + width > img.shape[1]:
        x = max(b.x - width - 6, 0)
    for i, (name, p) in enumerate(zip(LABELS, face.smoothed)):
        y = b.y + i * row_h
        if y + row_h > img.shape[0]:
            break
        cv2.rectangle(img, (x, y), (x + width, y + row_h - 2), (40, 40, 40), -1)
        cv2.rectangle(
            img,
            (x, y),
            (x + int(width * float(p)), y + row_h - 2),
            hex_to_bgr(EMOTION_COLORS[name]),
            -1,
        )
        cv2.putText(
            img,
            f"{name[:3]} {p:.2f}",
            (x + 2, y + row_h - 4),
            FONT,
            0.35 * scale,
            WHITE,
            1,
            cv2.LINE_AA,
        )


def draw_overlay(
    frame_bgr: np.ndarray, result: FrameResult, s: AnalysisSettings, fps: float | None = None
) -> np.ndarray:
    """Draw ``result`` onto ``frame_bgr`` in place and return it."""
    scale = _scale_for(frame_bgr)
    for face in result.faces:
        draw_face(frame_bgr, face, s, scale)
    y = int(24 * scale) + 4
    if not result.faces:
        y += _text(frame_bgr, NO_FACE_TEXT, (8, y), 0.6 * scale)
    if s.draw_fps and fps is not None:
        _text(frame_bgr, f"{fps:.0f} fps  {result.timings.total_ms:.1f} ms", (8, y), 0.5 * scale)
    return frame_bgr


def draw_banner(frame_bgr: np.ndarray, text: str) -> np.ndarray:
    """A state banner (e.g. "PAUSED") at the top centre of the frame, in place."""
    scale = _scale_for(frame_bgr)
    (tw, _), _ = cv2.getTextSize(text, FONT, 0.9 * scale, 2)
    x = max((frame_bgr.shape[1] - tw) // 2, 4)
    _text(frame_bgr, text, (x, int(40 * scale) + 8), 0.9 * scale, WHITE, (40, 40, 200), 2)
    return frame_bgr
