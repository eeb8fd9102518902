"""What the API process holds once: the store, the model, the photo pool and the video jobs."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from api.jobs import VideoJobs
from api.photos import PhotoPool
from api.settings import ApiSettings
from emotion_core.classifier import EmotionClassifier
from emotion_core.detection import import_mediapipe
from emotion_core.model_files import ModelRef
from emotion_core.store import SessionStore


@dataclass(frozen=True)
class Services:
    settings: ApiSettings
    store: SessionStore
    classifier: EmotionClassifier
    model: ModelRef
    photos: PhotoPool
    jobs: VideoJobs

    @classmethod
    def start(cls, settings: ApiSettings) -> Services:
        """Open the store (migrating it if old) and load the model once (a few seconds)."""
        store = SessionStore(settings.db_url)
        import_mediapipe()  # without TensorFlow: see emotion_core.detection
        classifier = EmotionClassifier(settings.model_path)
        model = ModelRef.of(settings.model_path)
        photos = PhotoPool(classifier, settings.photo_workers)
        jobs = VideoJobs(
            store,
            classifier,
            model,
            settings.video_workers,
            settings.max_queued_videos,
            settings.jobs_kept,
        )
        return cls(settings, store, classifier, model, photos, jobs)

    def close(self) -> None:
        """Stop the jobs (their sessions end as incomplete), the pool, then the store."""
        self.jobs.close()
        self.photos.close()
        self.store.dispose()


def services(request: Request) -> Services:
    """FastAPI dependency: the process's services."""
    return request.app.state.services
