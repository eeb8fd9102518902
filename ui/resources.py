"""Process-wide resources, created once per server process and shared read-only."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from emotion_core.classifier import DEFAULT_MODEL_PATH, EmotionClassifier
from emotion_core.dataset import DEFAULT_FER2013
from emotion_core.detection import import_mediapipe
from emotion_core.finetune_jobs import DEFAULT_JOBS_DIR, FinetuneJobs
from emotion_core.model_files import ModelRef, find_model_files
from emotion_core.model_versions import DEFAULT_MODELS_DIR, version_model_files
from emotion_core.store import DEFAULT_DB_PATH, SessionStore, sqlite_url
from emotion_core.training_faces import DEFAULT_TRAINING_DIR

ROOT = Path(__file__).resolve().parent.parent
LAST_SESSION_KEY = "last_session_id"  # st.session_state: the session to preselect
MODEL_KEY = "set_model"  # st.session_state: the model file picked in the sidebar


def config(name: str) -> str | None:
    """A setting from the environment, else from .streamlit/secrets.toml, else None."""
    if os.environ.get(name):
        return os.environ[name]
    try:
        return st.secrets.get(name)
    except FileNotFoundError:
        return None


def db_url() -> str:
    """``EMOTION_DB_URL`` (env or secrets); default: an SQLite file under data/."""
    return config("EMOTION_DB_URL") or sqlite_url(ROOT / DEFAULT_DB_PATH)


def model_path() -> Path:
    return Path(config("EMOTION_MODEL_PATH") or DEFAULT_MODEL_PATH)


def models_dir() -> Path:
    """``EMOTION_MODELS_DIR`` (env or secrets): extra model files and the fine-tuned
    versions; default ``data/models``."""
    return Path(config("EMOTION_MODELS_DIR") or ROOT / DEFAULT_MODELS_DIR)


def training_dir() -> Path:
    """``EMOTION_TRAINING_DIR``: the user's saved training faces; default
    ``data/training_faces``."""
    return Path(config("EMOTION_TRAINING_DIR") or ROOT / DEFAULT_TRAINING_DIR)


def fer2013_dir() -> Path:
    """``FER2013_DIR``: rehearsal faces and PublicTest for fine-tunes."""
    return Path(config("FER2013_DIR") or DEFAULT_FER2013)


def finetune_jobs() -> FinetuneJobs:
    """The fine-tune jobs (``EMOTION_FINETUNE_DIR``, default ``data/finetune``): all
    their state is on disk, so every session and a refreshed page see the same jobs."""
    return FinetuneJobs(config("EMOTION_FINETUNE_DIR") or ROOT / DEFAULT_JOBS_DIR)


def model_files() -> list[Path]:
    """The configured model first, then every ``*.tflite`` in assets/ and in the models
    folder, then the fine-tuned versions (newest first), without duplicates."""
    default = model_path()
    found = find_model_files(DEFAULT_MODEL_PATH.parent, models_dir())
    found += version_model_files(models_dir())
    others = [f for f in found if f.resolve() != default.resolve()]
    return [default, *others]


def selected_model() -> Path:
    """The model picked in the sidebar (see ui.sidebar.model_picker), else the default."""
    picked = st.session_state.get(MODEL_KEY)
    return Path(picked) if picked else model_path()


def get_classifier(path: str | None = None) -> EmotionClassifier:
    """The classifier of ``path`` (default: the selected model file), loaded once per
    process per file."""
    return _classifier_for(path or str(selected_model()))


@st.cache_resource(show_spinner="Loading the emotion model…")
def _classifier_for(path: str) -> EmotionClassifier:
    import_mediapipe()  # here, not in the first stream's video thread (~1 s)
    return EmotionClassifier(path)


@st.cache_resource(show_spinner=False)
def get_model_ref(path: str) -> ModelRef:
    """File name and SHA-256 of a model file, hashed once per process (files in assets/
    are replaced by a deploy, which restarts the process)."""
    return ModelRef.of(path)


@st.cache_resource(show_spinner=False)
def get_store() -> SessionStore:
    return SessionStore(db_url())


@st.cache_data(max_entries=8, show_spinner="Loading the session…")
def load_samples(db_url: str, session_id: int, rows: int) -> pd.DataFrame:
    """A session's samples, cached per row count, so a session still recording is
    reloaded when it grows; ``db_url`` keys the cache per store."""
    return get_store().load_samples(session_id)
