"""Splitting one video into time segments that analyse in parallel, and joining them back.

A segment owns frames ``[first, end)``. Its worker seeks to a keyframe at or before
``first - overlap`` and analyses from there (the warm-up), so that by ``first`` its
tracker and smoother are in the state a sequential run has; the warm-up's rows are used
once, to join face ids across the boundary, then dropped.

Why the overlap is what it is (:func:`overlap_frames`): the smoother is an EMA,
``s_t = a * s_(t-1) + (1 - a) * raw_t``. A segment seeds a face with its raw
probabilities where the sequential run carries older history; the two differ by at most
1 per probability, and each analysed frame multiplies that difference by ``a``. After
``k = ceil(log(tol) / log(a))`` analysed frames it is below ``tol`` (32 frames for the
default a = 0.6 and tol = 1e-7, ten times under the 1e-6 promised). The tracker forgets
a face after ``max_missed`` analysed frames without it, so ``max_missed + 1`` more frames
let a face that the detector missed for a while, or a stale track the sequential run
still holds, settle too. Detection and classification are per frame and stateless.

Face ids (:func:`join_segment`): in the overlap both the previous segments (already
joined, so holding the sequential ids) and the new segment analysed the same frames and
found the same boxes. Each of the new segment's ids takes the id of the box at the same
frame with the highest IoU, at the latest overlap frame where it appears; ids that first
appear after the boundary get the next unused ids in order of appearance, as the
sequential tracker hands them out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from emotion_core.media import MediaError

OVERLAP_TOLERANCE = 1e-7  # EMA difference left at the boundary (the promise is 1e-6)
MIN_JOIN_IOU = 0.5


@dataclass(frozen=True)
class FrameTable:
    """Every frame of a video's first stream, from its packets (no decoding).

    ``pts`` in presentation order: frame ``i`` of a sequential decode has ``pts[i]``.
    """

    pts: tuple[int, ...]
    keyframes: tuple[int, ...]  # frame indices of keyframes, ascending
    time_base_num: int
    time_base_den: int

    def time(self, index: int) -> float:
        """Seconds of frame ``index`` on the stream clock, computed as PyAV's
        ``frame.time`` is (so differences match the sequential run bit for bit)."""
        return float(self.pts[index]) * self.time_base_num / self.time_base_den

    def keyframe_at_or_before(self, index: int) -> int:
        return max((k for k in self.keyframes if k <= index), default=0)


@dataclass(frozen=True)
class Segment:
    """Frames ``[first, end)`` of a video (``end`` None: to the end), decoded from
    ``warm_first`` (a keyframe; 0 for the first segment)."""

    number: int
    warm_first: int
    first: int
    end: int | None
    pts: tuple[int, ...]  # pts of frames warm_first .. end-1 (index = warm_first + i)
    end_pts: int | None  # pts of frame ``end``: decoding stops there
    start_time: float  # stream time of frame 0 (t_rel = frame time - start_time)
    t_before: float | None  # t_rel of frame warm_first - 1 (for the frame sampler)

    @property
    def warm_frames(self) -> int:
        return self.first - self.warm_first


def scan_frames(path: Path) -> FrameTable:
    """Demux (not decode) the first video stream. Raises :class:`MediaError` when the
    file cannot be read or its timestamps cannot place every frame (then analyse it
    whole)."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError("The file has no video stream (audio only?).")
            stream = container.streams.video[0]
            packets = [(p.pts, p.is_keyframe) for p in container.demux(stream) if p.pts is not None]
            tb = stream.time_base
    except av.FFmpegError as exc:
        raise MediaError(f"Not a video this app can read ({exc.strerror or exc}).") from None
    packets.sort()
    pts = tuple(p for p, _ in packets)
    if not pts or len(set(pts)) != len(pts) or tb is None:
        raise MediaError("The video's timestamps do not allow splitting it.")
    keys = tuple(i for i, (_, key) in enumerate(packets) if key)
    return FrameTable(pts, keys or (0,), tb.numerator, tb.denominator)


def overlap_frames(smoothing: float, max_missed: int, tol: float = OVERLAP_TOLERANCE) -> int:
    """Analysed frames of warm-up after which a segment matches the sequential run
    (see the module docstring)."""
    ema = math.ceil(math.log(tol) / math.log(smoothing)) if smoothing > 0 else 0
    return ema + max_missed + 1


def plan_segments(
    table: FrameTable, parts: int, warm_frames: int, min_frames: int = 1
) -> list[Segment]:
    """Cut the video into ``parts`` segments of equal frame counts (fewer when each
    would have under ``min_frames``); each later segment starts decoding at the keyframe
    at or before ``first - warm_frames`` (``warm_frames`` decoded frames, not analysed
    ones: the caller scales by the sampling step)."""
    n = len(table.pts)
    parts = max(1, min(parts, n // max(min_frames, 1)))
    cuts = [round(i * n / parts) for i in range(parts)] + [n]
    start_time = table.time(0)
    segments = []
    for number, (first, end) in enumerate(itertools.pairwise(cuts)):
        warm = 0 if number == 0 else table.keyframe_at_or_before(max(first - warm_frames, 0))
        last = end < n
        segments.append(
            Segment(
                number,
                warm,
                first,
                end if last else None,
                table.pts[warm:end],
                table.pts[end] if last else None,
                start_time,
                table.time(warm - 1) - start_time if warm > 0 else None,
            )
        )
    return segments


def join_segment(
    joined: list[dict[str, Any]], rows: Sequence[dict[str, Any]], first: int
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """Join one segment's report rows onto the rows of the segments before it.

    ``joined`` holds the earlier segments' rows with sequential face ids; ``rows`` are
    the new segment's rows, warm-up included, with its own ids; ``first`` is its first
    own frame. Returns the new segment's own rows (warm-up dropped) with sequential face
    ids, and the id mapping used (its id -> sequential id).
    """
    by_frame: dict[int, list[dict[str, Any]]] = {}
    for row in joined:
        by_frame.setdefault(row["frame_index"], []).append(row)
    mapping: dict[int, int] = {}
    for row in reversed([r for r in rows if r["frame_index"] < first]):  # latest first
        local = row["face_id"]
        if local is None or local in mapping:
            continue
        candidates = [r for r in by_frame.get(row["frame_index"], []) if r["face_id"] is not None]
        best = max(candidates, key=lambda r: _iou(r, row), default=None)
        if best is not None and _iou(best, row) >= MIN_JOIN_IOU:
            mapping[local] = best["face_id"]
    next_id = 1 + max((r["face_id"] for r in joined if r["face_id"] is not None), default=0)
    own = []
    for row in rows:
        if row["frame_index"] < first:
            continue
        local = row["face_id"]
        if local is not None and local not in mapping:
            mapping[local], next_id = next_id, next_id + 1
        own.append({**row, "face_id": None if local is None else mapping[local]})
    used = {r["face_id"] for r in own if r["face_id"] is not None}
    return own, {k: v for k, v in mapping.items() if v in used}


def _iou(a: dict[str, Any], b: dict[str, Any]) -> float:
    ix = max(0, min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]))
    iy = max(0, min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]))
    union = a["w"] * a["h"] + b["w"] * b["h"] - ix * iy
    return ix * iy / union if union > 0 else 0.0
