"""Stable face IDs across frames by greedy IoU matching, with a centroid fallback for
fast head movement. One tracker per stream or video; not thread-safe.

Boxes are in pixels of their frame, and a browser lowers the camera's resolution under
load mid-stream; the tracker therefore rescales its tracks when the frame size changes,
so a face keeps its ID (and its smoothing history) across the switch."""

from __future__ import annotations

from dataclasses import dataclass

from emotion_core.detection import FaceBox

IOU_MATCH = 0.3
# A box whose centre moved less than this share of its size still counts as the same face.
CENTROID_MATCH = 0.6


@dataclass
class Track:
    face_id: int
    box: FaceBox
    missed: int = 0


class FaceTracker:
    """Assigns each detected box the ID of the track it continues, or a new ID.

    A track survives ``max_missed`` analysed frames without a match (a blink of the
    detector), then is dropped; its ID is never reused within the tracker's life.
    """

    def __init__(self, max_missed: int = 10) -> None:
        self.max_missed = max_missed
        self._tracks: list[Track] = []
        self._next_id = 1
        self._frame_size: tuple[int, int] | None = None

    @property
    def active_ids(self) -> set[int]:
        return {t.face_id for t in self._tracks}

    def update(
        self, boxes: list[FaceBox], frame_size: tuple[int, int] | None = None
    ) -> tuple[list[int], set[int]]:
        """Match ``boxes`` (found in a frame of ``frame_size`` = (width, height), if
        known); returns (ID per box in the same order, IDs dropped now)."""
        if frame_size is not None:
            old, self._frame_size = self._frame_size, frame_size
            if old is not None and old != frame_size:
                sx, sy = frame_size[0] / old[0], frame_size[1] / old[1]
                for track in self._tracks:
                    track.box = track.box.scaled(sx, sy)
        pairs = sorted(
            (
                (_similarity(t.box, b), ti, bi)
                for ti, t in enumerate(self._tracks)
                for bi, b in enumerate(boxes)
            ),
            reverse=True,
        )
        ids: list[int | None] = [None] * len(boxes)
        used_tracks: set[int] = set()
        for score, ti, bi in pairs:
            if score <= 0 or ti in used_tracks or ids[bi] is not None:
                continue
            used_tracks.add(ti)
            ids[bi] = self._tracks[ti].face_id
            self._tracks[ti].box, self._tracks[ti].missed = boxes[bi], 0
        for ti, track in enumerate(self._tracks):
            if ti not in used_tracks:
                track.missed += 1
        dropped = {t.face_id for t in self._tracks if t.missed > self.max_missed}
        self._tracks = [t for t in self._tracks if t.missed <= self.max_missed]
        for bi, box in enumerate(boxes):
            if ids[bi] is None:
                ids[bi] = self._next_id
                self._tracks.append(Track(self._next_id, box))
                self._next_id += 1
        return [i for i in ids if i is not None], dropped


def _similarity(a: FaceBox, b: FaceBox) -> float:
    """IoU when the boxes overlap enough; otherwise a small positive score for a close
    centroid (below any IoU match, so overlaps win); 0 when they are different faces."""
    iou = a.iou(b)
    if iou >= IOU_MATCH:
        return iou
    size = max(a.w, a.h, b.w, b.h)
    dx = (a.x + a.w / 2) - (b.x + b.w / 2)
    dy = (a.y + a.h / 2) - (b.y + b.h / 2)
    dist = (dx * dx + dy * dy) ** 0.5 / size
    return (CENTROID_MATCH - dist) * IOU_MATCH / CENTROID_MATCH if dist < CENTROID_MATCH else 0.0
