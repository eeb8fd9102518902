"""The shipped model through the photo path on real people's photos (real-faces-dev).

Accuracy there is a benchmark figure (benchmarks/bench_real_faces.py, README), not an
assertion; what a test can hold the product to is that the path finds the faces.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emotion_core.emotions import LABELS
from emotion_core.media import PhotoAnalyser
from emotion_core.settings import AnalysisSettings

ROOT = Path(__file__).resolve().parent.parent
REAL_FACES_DEFAULT = ROOT.parent / "shared" / "datasets" / "real-faces-dev"
PER_CLASS = 6  # the first few photos of each emotion folder: 42 photos
MIN_FACE_FOUND = 0.95


@pytest.fixture(scope="module")
def real_photos() -> list[Path]:
    root = Path(os.environ.get("REAL_FACES_DIR", REAL_FACES_DEFAULT))
    if not root.is_dir():
        pytest.skip(f"real-faces-dev not found at {root}; set REAL_FACES_DIR to run this test")
    return [p for label in LABELS for p in sorted((root / label).glob("*.jpg"))[:PER_CLASS]]


@pytest.mark.dataset
def test_faces_are_found_in_real_photos(classifier, real_photos):
    with PhotoAnalyser(classifier, AnalysisSettings()) as analyser:
        results = [analyser.analyse_file(p.name, p).result for p in real_photos]
    found = sum(bool(r.faces) for r in results)
    assert found >= MIN_FACE_FOUND * len(real_photos), f"{found} of {len(real_photos)}"
    for r in results:
        for face in r.faces:
            assert abs(float(face.raw.sum()) - 1.0) < 1e-3
