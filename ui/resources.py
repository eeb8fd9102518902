"""Process-wide resources, created once per server process and shared read-only."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType

import streamlit as st

from emotion_core.classifier import DEFAULT_MODEL_PATH, EmotionClassifier
from emotion_core.store import DEFAULT_DB_PATH, SessionStore, sqlite_url

ROOT = Path(__file__).resolve().parent.parent
HIDDEN_MODULES: dict[str, ModuleType] = {}  # see _keep_keras_out_of_streamlit_cleanup
LAST_SESSION_KEY = "last_session_id"  # st.session_state: the session to preselect


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


@st.cache_resource(show_spinner="Loading the emotion model…")
def get_classifier() -> EmotionClassifier:
    classifier = EmotionClassifier(model_path())
    if classifier.path.suffix == ".tflite":
        _keep_keras_out_of_streamlit_cleanup()
    return classifier


def _keep_keras_out_of_streamlit_cleanup() -> None:
    """Streamlit calls ``keras.backend.clear_session()`` after every script run, fragments
    included, whenever ``keras`` is in ``sys.modules``, and importing TensorFlow puts it
    there. That call runs a full GC and resets TensorFlow's caches while holding the GIL,
    which starved the WebRTC video thread: 8-14 analysed fps in the browser test with it,
    22-24 fps without. The app runs the model through TFLite, never Keras, so the entry
    is dropped (kept in :data:`HIDDEN_MODULES`; tests that train in the same process put
    it back, since a fresh ``import keras`` beside the loaded one breaks TF tracing).
    """
    module = sys.modules.pop("keras", None)
    if module is not None:
        HIDDEN_MODULES["keras"] = module


@st.cache_resource(show_spinner=False)
def get_store() -> SessionStore:
    return SessionStore(db_url())
