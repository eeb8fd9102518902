"""Locust user for ``benchmarks/bench_api.py``: posts one JPEG to ``/v1/analyze/image``
again and again (no think time), with the API key and picture named by the environment
(``EMOTION_API_KEY``, ``EMOTION_BENCH_IMAGE``)."""

from __future__ import annotations

import os
from pathlib import Path

from locust import HttpUser, constant, task


class PhotoClient(HttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ['EMOTION_API_KEY']}"
        self.image = Path(os.environ["EMOTION_BENCH_IMAGE"]).read_bytes()

    @task
    def analyse_photo(self) -> None:
        files = {"files": ("face.jpg", self.image, "image/jpeg")}
        with self.client.post("/v1/analyze/image", files=files, catch_response=True) as r:
            if r.status_code != 200 or len(r.json()["images"][0]["faces"]) != 1:
                r.failure(f"{r.status_code}: {r.text[:200]}")
