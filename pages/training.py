"""Teach the model: the user's saved training faces, fine-tuning from the app, and the
fine-tuned versions. Composed from emotion_core.training_faces, .finetune_jobs and
.model_versions; the work runs in a background process, never in this script."""

from __future__ import annotations

import streamlit as st

from ui.finetune_panel import job_panel, versions_panel
from ui.resources import selected_model, training_dir
from ui.routing import route_through_app
from ui.sidebar import model_picker
from ui.training_capture import privacy_notice
from ui.training_data import training_data_view

route_through_app()  # a direct link on a fresh server: see ui/routing.py
st.title("Teach the model")
st.markdown(
    "Save faces the model misreads, with their true emotion, on **Analyze media** or "
    "**Live**; then fine-tune a new version of the model on them here, compare it on "
    "the Model page and pick it in the sidebar. The shipped model is never changed."
)
st.caption(privacy_notice())
model_picker()

st.header("Training data")
counts = training_data_view(training_dir())

st.header("Fine-tune")
job_panel(selected_model(), counts)

st.header("Model versions")
versions_panel()
