"""Photos analysed in a pool of worker threads, so the event loop never waits on a picture.

Each worker thread has its own :class:`PhotoAnalyser` (MediaPipe detectors are not
thread-safe); all share the one classifier, which serialises its own calls. Decoding
(Pillow), detection (MediaPipe's graph) and inference (LiteRT) release the GIL for most
of their time, so threads use both cores without a second copy of the model per process.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from emotion_core.classifier import EmotionClassifier
from emotion_core.media import PhotoAnalyser, PhotoResult
from emotion_core.settings import AnalysisSettings


class PhotoPool:
    """``await pool.analyse(name, data, settings)``: decode and analyse one picture in a
    worker thread; raises :class:`emotion_core.media.MediaError` for a bad file."""

    def __init__(self, classifier: EmotionClassifier, workers: int) -> None:
        self.classifier = classifier
        self._local = threading.local()
        self._analysers: list[PhotoAnalyser] = []
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="photo")

    def _analyser(self, settings: AnalysisSettings) -> PhotoAnalyser:
        analyser = getattr(self._local, "analyser", None)
        if analyser is None:
            analyser = self._local.analyser = PhotoAnalyser(self.classifier, settings)
            with self._lock:
                self._analysers.append(analyser)
        analyser.use(settings)
        return analyser

    def _run(self, name: str, data: bytes, settings: AnalysisSettings, index: int) -> PhotoResult:
        return self._analyser(settings).analyse_file(name, data, index)

    async def analyse(
        self, name: str, data: bytes, settings: AnalysisSettings, index: int = 0
    ) -> PhotoResult:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, name, data, settings, index)

    def close(self) -> None:
        """Wait for running analyses, then free every worker's detector."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for analyser in self._analysers:
                analyser.close()
            self._analysers.clear()
