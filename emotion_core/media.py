"""Uploaded photos: robust decoding, per-photo analysis, report rows and photo sessions.

Decoding goes through Pillow (not OpenCV) because it reads the image header before any
pixel: the size is checked and huge JPEGs are decoded at reduced scale (``draft``), so a
50-megapixel phone photo or a decompression bomb never reaches full size in memory.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from emotion_core.classifier import EmotionClassifier
from emotion_core.csv_text import safe_text
from emotion_core.model_files import ModelRef, model_columns
from emotion_core.overlay import draw_overlay
from emotion_core.pipeline import FramePipeline
from emotion_core.recording import rows_for
from emotion_core.results import FrameResult
from emotion_core.settings import AnalysisSettings
from emotion_core.store import SAMPLE_COLUMNS, SessionStore
from emotion_core.tracking import FaceTracker

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
MAX_SIDE = 4096  # longer side after decoding; larger photos are downscaled
MAX_PIXELS = 64_000_000  # formats decoded at full size first (PNG, TIFF...): ~256 MB RGBA
MAX_JPEG_PIXELS = 150_000_000  # JPEG decodes at 1/2..1/8 scale, so it may be larger
NO_FACE_NOTE = "No face found in this picture."
# The report (CSV) columns: the store's per-frame sample columns, prefixed by the file.
REPORT_COLUMNS: tuple[str, ...] = (
    "file",
    *(c for c in SAMPLE_COLUMNS if c not in ("session_id", "t_wall")),
)


class MediaError(ValueError):
    """A file that cannot be analysed; the message is meant for the user."""


class UnsupportedMedia(MediaError):
    """Not a picture (or video) this app can read at all: a wrong file type."""


class MediaTooLarge(MediaError):
    """Readable, but larger than a limit (pixels, duration)."""


@dataclass(frozen=True)
class DecodedImage:
    """A decoded picture as a uint8 BGR array, with what was done to get it."""

    frame_bgr: np.ndarray
    format: str
    original_size: tuple[int, int]  # (width, height) in the file
    downscaled: bool


@dataclass(frozen=True)
class PhotoResult:
    """One analysed photo: the annotated BGR picture, the result and a note for the user."""

    name: str
    annotated_bgr: np.ndarray
    result: FrameResult
    note: str | None = None


def decode_image(data: bytes | Path, max_side: int = MAX_SIDE) -> DecodedImage:
    """Decode JPEG/PNG/WebP/BMP/TIFF/GIF (first frame) bytes or file into BGR uint8.

    Handles CMYK, 16-bit, palette, alpha (composited on white) and EXIF rotation; the
    longer side is at most ``max_side``. Raises :class:`MediaError` with a readable
    message for empty, unreadable, truncated or oversized files.
    """
    raw = data.read_bytes() if isinstance(data, Path) else bytes(data)
    if not raw:
        raise MediaError("The file is empty (0 bytes).")
    size = (0, 0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(raw))
            fmt, size = img.format or "?", img.size
            _check_pixels(fmt, size)
            if fmt == "JPEG":
                img.draft("RGB", (max_side, max_side))  # DCT-domain downscale before decoding
            img.load()
            img = ImageOps.exif_transpose(img)
    except UnidentifiedImageError:
        raise UnsupportedMedia(
            "Not a picture this app can read (JPEG, PNG, WebP, BMP, TIFF or GIF)."
        ) from None
    except Image.DecompressionBombError:
        raise MediaTooLarge(_too_big(size)) from None
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, MediaError):
            raise
        raise MediaError(f"The picture is truncated or corrupt ({exc}).") from None
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # Compare longer sides: EXIF rotation swaps width and height without scaling.
    return DecodedImage(_to_bgr(img), fmt, size, max(img.size) < max(size))


def _check_pixels(fmt: str, size: tuple[int, int]) -> None:
    limit = MAX_JPEG_PIXELS if fmt == "JPEG" else MAX_PIXELS
    if size[0] * size[1] > limit:
        raise MediaTooLarge(_too_big(size, limit))


def _too_big(size: tuple[int, int], limit: int = MAX_PIXELS) -> str:
    dims = f" ({size[0]}x{size[1]} pixels)" if size[0] else ""
    return f"The picture is too large{dims}; the limit is {limit / 1e6:.0f} megapixels."


def _to_bgr(img: Image.Image) -> np.ndarray:
    """Any Pillow mode as a contiguous uint8 BGR array."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(img).astype(np.float64)
        # 16-bit grey arrives as 0..65535; float TIFFs have no fixed range.
        if img.mode == "F":
            top = max(float(arr.max()), 1e-6)
        else:
            top = 65535.0 if arr.max() > 255 else 255.0
        grey = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    rgb = np.asarray(img.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def photo_settings(settings: AnalysisSettings) -> AnalysisSettings:
    """Settings for a still picture: no smoothing (a photo has no history), no mirror."""
    return replace(settings, smoothing=0.0, mirror=False, analyse_every_n=1, draw_fps=False)


class PhotoAnalyser:
    """Analyses independent photos with one detector; face IDs restart at each photo.

    Not thread-safe: one caller at a time. Close it (or use ``with``) to free the detector.
    """

    def __init__(self, classifier: EmotionClassifier, settings: AnalysisSettings) -> None:
        self.pipeline = FramePipeline(classifier, photo_settings(settings))

    def use(self, settings: AnalysisSettings) -> None:
        """Analyse the next photos with ``settings`` (the detector is kept unless its own
        options change), so one analyser can serve requests with different settings."""
        self.pipeline.settings = photo_settings(settings)

    def analyse(self, name: str, image_bgr: np.ndarray, index: int = 0) -> PhotoResult:
        """Detect, classify and draw every face of one BGR picture (not modified)."""
        pipe = self.pipeline
        pipe.tracker = FaceTracker()  # a photo shares no history with the previous one
        frame = pipe.prepare(image_bgr)
        result = pipe.analyse(frame, index, 0.0)
        draw_overlay(frame, result, pipe.settings, None)
        return PhotoResult(name, frame, result, None if result.faces else NO_FACE_NOTE)

    def analyse_file(self, name: str, data: bytes | Path, index: int = 0) -> PhotoResult:
        """Decode then analyse; raises :class:`MediaError` for a file that cannot be read."""
        decoded = decode_image(data)
        photo = self.analyse(name, decoded.frame_bgr, index)
        if decoded.downscaled:
            w, h = decoded.original_size
            note = f"Downscaled from {w}x{h} to fit {MAX_SIDE} px."
            photo = replace(photo, note=f"{photo.note} {note}" if photo.note else note)
        return photo

    def close(self) -> None:
        self.pipeline.close()

    def __enter__(self) -> PhotoAnalyser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def report_rows(name: str, result: FrameResult, t_rel: float) -> list[dict[str, Any]]:
    """Report rows (:data:`REPORT_COLUMNS`) for one analysed frame: one per face, or one
    row with empty face columns when there is no face (as in the session store)."""
    return [
        {"file": name, **{c: row.get(c) for c in REPORT_COLUMNS[1:]}}
        for row in rows_for(result, 0, 0.0, t_rel)
    ]


def write_report(rows: Iterable[dict[str, Any]], out: TextIO, header: bool = True) -> int:
    """Write report rows as CSV (:data:`REPORT_COLUMNS`, empty cells for no value); the one
    CSV writer for the command line and the page's download. File names a spreadsheet
    would run as formulas are quoted as text (``csv_text``). Returns the rows written."""
    writer = csv.DictWriter(out, REPORT_COLUMNS, extrasaction="ignore", lineterminator="\n")
    if header:
        writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow({k: safe_text(v) for k, v in row.items()})
        n += 1
    return n


def report_csv(rows: Iterable[dict[str, Any]]) -> bytes:
    """The CSV report as UTF-8 bytes, for a download button."""
    buf = io.StringIO()
    write_report(rows, buf)
    return buf.getvalue().encode("utf-8")


def save_photo_session(
    store: SessionStore,
    photos: Sequence[tuple[str, FrameResult]],
    settings: AnalysisSettings,
    model: ModelRef | None = None,
    owner: str | None = None,
) -> int:
    """Store a batch of (file name, result) as one complete session (source "image",
    ``model`` naming the classifier's file, ``owner`` the API key owner); returns its id.

    Photo ``i`` is frame ``i`` at ``t_rel = i`` seconds, so the analytics timeline shows
    the photos in upload order.
    """
    rows = [(name, rows_for(result, 0, 0.0, 0.0)) for name, result in photos]
    return save_photo_rows(store, rows, settings, model, owner)


def save_photo_rows(
    store: SessionStore,
    photos: Sequence[tuple[str, Sequence[dict[str, Any]]]],
    settings: AnalysisSettings,
    model: ModelRef | None = None,
    owner: str | None = None,
) -> int:
    """:func:`save_photo_session` for photos given as (file name, their sample or report
    rows), as batch workers return them."""
    if not photos:
        raise ValueError("no photos to save")
    names = ", ".join(name for name, _ in photos)
    started = datetime.now(UTC)
    sid = store.create_session(
        "image",
        photo_settings(settings).to_dict(),
        source_name=names[:500],
        started_at=started,
        owner=owner,
        **model_columns(model),
    )
    t0 = started.timestamp()
    rows = [
        {**row, "session_id": sid, "frame_index": i, "t_wall": t0 + i, "t_rel": float(i)}
        for i, (_, photo_rows) in enumerate(photos)
        for row in photo_rows
    ]
    store.add_samples(rows)
    store.end_session(sid, "complete")
    return sid
