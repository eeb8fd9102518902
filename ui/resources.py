"""Process-wide resources, created once per server process and shared read-only."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from emotion_core.classifier import DEFAULT_MODEL_PATH, EmotionClassifier
from emotion_core.detection import import_mediapipe
from emotion_core.store import DEFAULT_DB_PATH, SessionStore, sqlite_url

ROOT = Path(__file__).resolve().parent.parent
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
    import_mediapipe()  # here, not in the first stream's video thread (~1 s)
    return EmotionClassifier(model_path())


@st.cache_resource(show_spinner=False)
def get_store() -> SessionStore:
    return SessionStore(db_url())
