"""The API service's settings: one frozen, validated dataclass (read by ``api.__main__``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emotion_core.classifier import DEFAULT_MODEL_PATH
from emotion_core.store import DEFAULT_DB_PATH, sqlite_url

MB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ApiSettings:
    """Where the store and model are, and the limits on what clients may send.

    ``photo_workers`` threads analyse photos (each with its own detector; the classifier
    is shared); ``video_workers`` videos run at once, later ones wait in a queue of at
    most ``max_queued_videos``. Finished jobs are remembered (for ``GET /v1/jobs``) up to
    ``jobs_kept``, oldest dropped first.
    """

    db_url: str = sqlite_url(ROOT / DEFAULT_DB_PATH)
    model_path: Path = DEFAULT_MODEL_PATH
    max_image_bytes: int = 25 * MB  # per picture
    max_images: int = 20  # per request
    max_video_bytes: int = 500 * MB
    photo_workers: int = 2
    video_workers: int = 1
    max_queued_videos: int = 8
    jobs_kept: int = 200

    def __post_init__(self) -> None:
        for name in ("max_image_bytes", "max_images", "max_video_bytes", "photo_workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.video_workers < 1 or self.max_queued_videos < 0 or self.jobs_kept < 1:
            raise ValueError("video_workers and jobs_kept must be >= 1, max_queued_videos >= 0")

    @property
    def max_photo_request_bytes(self) -> int:
        """A whole photo request: every picture at its limit, plus the multipart framing."""
        return self.max_images * self.max_image_bytes + MB

    @property
    def max_video_request_bytes(self) -> int:
        return self.max_video_bytes + MB
