"""Shared fixtures: real pictures, the shipped model, and stores on SQLite and PostgreSQL."""

from __future__ import annotations

# aiortc's SRTP library must load before TensorFlow (see docs/design.md).
import pylibsrtp  # noqa: F401  isort: skip

import os
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
import sqlalchemy as sa
from pg_env import empty_store_url, require_pg_url

ROOT = Path(__file__).resolve().parent.parent
FER2013_DEFAULT = ROOT.parent / "shared" / "datasets" / "fer2013"


@pytest.fixture(scope="session")
def astronaut_bgr() -> np.ndarray:
    """scikit-image's astronaut (Eileen Collins, smiling), 512x512 BGR."""
    return cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="session")
def astronaut_frame(astronaut_bgr: np.ndarray) -> np.ndarray:
    """The astronaut centred on a 640x480 webcam-sized frame."""
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, 80:560] = cv2.resize(astronaut_bgr, (480, 480), interpolation=cv2.INTER_AREA)
    return frame


@pytest.fixture(scope="session")
def classifier():
    """The shipped model from assets/, loaded once for the whole test run."""
    from emotion_core.classifier import DEFAULT_MODEL_PATH, EmotionClassifier

    return EmotionClassifier(DEFAULT_MODEL_PATH)


@pytest.fixture(scope="session")
def fer2013_dir() -> Path:
    """FER2013 in the Kaggle folder layout (FER2013_DIR or ../shared/datasets/fer2013)."""
    path = Path(os.environ.get("FER2013_DIR", FER2013_DEFAULT))
    if not (path / "test").is_dir():
        pytest.skip(f"FER2013 not found at {path}; set FER2013_DIR to run dataset tests")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    """An empty SessionStore on a fresh SQLite file, and on the test PostgreSQL server."""
    from emotion_core.store import SessionStore

    s = SessionStore(empty_store_url(request.param, tmp_path))
    yield s
    s.dispose()


@pytest.fixture
def db(tmp_path, monkeypatch):
    """An empty SQLite store that the app's pages use (EMOTION_DB_URL points at it)."""
    from emotion_core.store import SessionStore, sqlite_url
    from ui.resources import get_store

    url = sqlite_url(tmp_path / "sessions.db")
    monkeypatch.setenv("EMOTION_DB_URL", url)
    get_store.clear()
    store = SessionStore(url)
    yield store
    store.dispose()
    get_store.clear()


@pytest.fixture
def pg_url() -> str:
    """The test PostgreSQL server's URL (skipped without one, failed when required)."""
    return require_pg_url()


@pytest.fixture
def pg_database(pg_url):
    """A fresh PostgreSQL database of its own on the test server (the store tests empty
    the shared one), dropped afterwards: yields its SQLAlchemy URL."""
    name = f"emotion_e2e_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
