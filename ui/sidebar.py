"""The analysis settings sidebar: grouped, explained widgets -> one AnalysisSettings."""

from __future__ import annotations

import streamlit as st

from emotion_core.model_versions import model_labels
from emotion_core.settings import MEDIA_MIRROR_AVERAGING, AnalysisSettings
from ui.resources import MODEL_KEY, model_files

D = AnalysisSettings()


def model_picker() -> None:
    """A model selector, shown only when more than one model file is available; the
    choice is read back by ``ui.resources.get_classifier``."""
    files = model_files()
    if len(files) < 2:
        st.session_state.pop(MODEL_KEY, None)
        return
    options = [str(f) for f in files]
    if st.session_state.get(MODEL_KEY) not in options:
        st.session_state[MODEL_KEY] = options[0]
    st.sidebar.selectbox(
        "Model",
        options,
        key=MODEL_KEY,
        format_func=model_labels(files).get,
        help="Every session records the file and its SHA-256. A new choice applies to "
        "the next stream, photo batch or video. ft-… are your fine-tuned versions "
        "(Teach the model page); the Model page shows the chosen one's card.",
    )


def settings_sidebar(video: bool = True) -> AnalysisSettings:
    """Draw the settings widgets in the sidebar and return the settings they describe.

    Widget keys are stable, so values survive page switches within a browser session.
    ``video`` adds the options that only matter for a stream (every Nth frame, mirror).
    """
    sb = st.sidebar
    sb.header("Analysis settings")
    model_picker()
    with sb.expander("Face detection", expanded=True):
        rng = st.radio(
            "Detector range",
            ["short", "full"],
            key="set_detector_range",
            horizontal=True,
            format_func={"short": "Short (≤ 2 m, webcam)", "full": "Full (≤ 5 m, groups)"}.get,
            help="Short range suits one person at a webcam. Full range finds smaller, "
            "farther faces but can miss a face that fills the frame.",
        )
        conf = st.slider(
            "Minimum detection confidence",
            0.1,
            0.95,
            D.min_detection_confidence,
            0.05,
            key="set_min_conf",
            help="Higher: fewer false faces; lower: finds harder faces.",
        )
        max_faces = st.slider("Maximum faces", 1, 20, D.max_faces, key="set_max_faces")
    with sb.expander("Emotion", expanded=True):
        smoothing = st.slider(
            "Smoothing strength",
            0.0,
            0.95,
            D.smoothing,
            0.05,
            key="set_smoothing",
            help="Share of the previous estimate kept each frame. "
            "0 = raw per-frame output, 0.9 = very steady.",
        )
        uncertain = st.slider(
            "“Uncertain” below",
            0.0,
            0.9,
            D.uncertain_threshold,
            0.05,
            key="set_uncertain",
            help="A face whose top emotion is less likely than this is labelled uncertain.",
        )
        low_light = st.toggle(
            "Low-light enhancement",
            D.low_light,
            key="set_low_light",
            help="Brightens dark pictures (CLAHE) before detection.",
        )
        # separate keys so the live and media pages each keep their own default
        mirror_averaging = st.toggle(
            "Mirror averaging",
            D.mirror_averaging if video else MEDIA_MIRROR_AVERAGING,
            key="set_mirror_avg_live" if video else "set_mirror_avg_media",
            help="Also reads each face's mirror image and averages the two: more accurate "
            "(the Model page shows both figures), but twice the classifier's time per face.",
        )
    with sb.expander("Display", expanded=False):
        draw_box = st.checkbox("Face box", D.draw_box, key="set_draw_box")
        draw_label = st.checkbox("Label and confidence", D.draw_label, key="set_draw_label")
        draw_probs = st.checkbox(
            "All seven probabilities", D.draw_probabilities, key="set_draw_probs"
        )
        draw_id = st.checkbox("Face ID", D.draw_face_id, key="set_draw_id")
        draw_fps = (
            st.checkbox("FPS and latency", D.draw_fps, key="set_draw_fps") if video else False
        )
    every_n, mirror = D.analyse_every_n, False
    if video:
        with sb.expander("Performance", expanded=False):
            every_n = st.slider(
                "Analyse every Nth frame",
                1,
                10,
                D.analyse_every_n,
                key="set_every_n",
                help="Skipped frames reuse the last result's overlay.",
            )
            mirror = st.checkbox(
                "Mirror view", D.mirror, key="set_mirror", help="Show the camera like a mirror."
            )
    return AnalysisSettings(
        detector_range=rng,
        min_detection_confidence=conf,
        max_faces=max_faces,
        smoothing=smoothing,
        uncertain_threshold=uncertain,
        low_light=low_light,
        mirror_averaging=mirror_averaging,
        draw_box=draw_box,
        draw_label=draw_label,
        draw_probabilities=draw_probs,
        draw_face_id=draw_id,
        draw_fps=draw_fps,
        analyse_every_n=every_n,
        mirror=mirror,
    )
