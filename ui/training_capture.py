"""Saving a face for training, on explicit request only: the privacy notice, the face
picker of the Analyze media page and the Live page's "save this face" control.

What is saved is the face's 48x48 grey crop exactly as the classifier received it
(``FaceResult.face48`` / ``LiveSession.face_crop``), never the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import streamlit as st

from emotion_core.emotions import LABELS
from emotion_core.live import LiveSession, LiveSnapshot
from emotion_core.results import FaceResult
from emotion_core.training_faces import count_faces, save_face
from ui.resources import training_dir

LIVE_MESSAGE_KEY = "live_training_message"  # (kind, text) from the save callback


def privacy_notice(folder: Path | None = None) -> str:
    """Exactly what saving a face stores, where, and how to delete it."""
    folder = folder or training_dir()
    return (
        "**Training faces: what is stored.** Only when you click *Save for training*, "
        "the face you picked is stored as its 48x48 grey crop (what the model sees, "
        f"about 2 KB, a PNG) in `{folder}/<emotion>/` on this server, with the emotion "
        "you chose as its folder. Never the photo, the video or the camera frame, and "
        "never in the session database. Delete any or all of them on the **Teach the "
        "model** page (or delete that folder). A fine-tune copies them into its job "
        "folder while it runs and deletes the copy when it ends; a model version made "
        "from them keeps what it learned until you delete that version."
    )


def _default_emotion(label: str) -> int:
    return LABELS.index(label) if label in LABELS else LABELS.index("neutral")


def face_saver(faces: Sequence[FaceResult], key: str) -> None:
    """Pick one of ``faces`` (shown as the model sees them) and its true emotion, and
    save it for training on click. ``key`` makes the widgets unique per picture."""
    faces = [f for f in faces if f.face48 is not None]
    if not faces:
        st.caption("No face to save in this picture.")
        return
    cols = st.columns(min(len(faces), 8))
    for col, face in zip(cols, faces):
        col.image(face.face48, caption=f"Face #{face.face_id}", width=72, clamp=True)
    ids = [f.face_id for f in faces]
    left, middle, right = st.columns([1, 1, 1], vertical_alignment="bottom")
    picked = left.selectbox("Face", ids, format_func=lambda i: f"#{i}", key=f"{key}_face")
    face = next(f for f in faces if f.face_id == picked)
    emotion = middle.selectbox(
        "True emotion", LABELS, index=_default_emotion(face.label), key=f"{key}_emotion"
    )
    if right.button("Save for training", key=f"{key}_save", icon=":material/school:"):
        path = save_face(training_dir(), face.face48, emotion)
        n = count_faces(training_dir())[emotion]
        st.success(f"Saved face #{picked} as {emotion} ({n} {emotion} faces now): `{path.name}`")


def _save_live_face(live: LiveSession, face_key: str, emotion_key: str) -> None:
    """Button callback (page thread): copy the crop from the LiveSession and save it."""
    face_id, emotion = st.session_state.get(face_key), st.session_state.get(emotion_key)
    crop: np.ndarray | None = live.face_crop(face_id) if face_id is not None else None
    if crop is None:
        st.session_state[LIVE_MESSAGE_KEY] = ("warning", "That face is no longer in view.")
        return
    path = save_face(training_dir(), crop, emotion)
    n = count_faces(training_dir())[emotion]
    st.session_state[LIVE_MESSAGE_KEY] = (
        "success",
        f"Saved face #{face_id} as {emotion} ({n} {emotion} faces now): `{path.name}`",
    )


def live_face_saver(live: LiveSession, snap: LiveSnapshot) -> None:
    """ "Save this face for training" while streaming: the face in view now, the true
    emotion, one click. The crop is copied from the LiveSession on the click only."""
    with st.expander("Save this face for training", icon=":material/school:"):
        st.caption(privacy_notice())
        if not snap.faces:
            st.caption("No face in view.")
        else:
            ids = [face_id for face_id, _, _ in snap.faces]
            labels = {face_id: label for face_id, label, _ in snap.faces}
            cols = st.columns(3, vertical_alignment="bottom")
            face_id = cols[0].selectbox(
                "Face",
                ids,
                format_func=lambda i: f"#{i} ({labels.get(i, '?')})",
                key="live_training_face",
            )
            cols[1].selectbox(
                "True emotion",
                LABELS,
                index=_default_emotion(labels.get(face_id, "")),
                key="live_training_emotion",
            )
            cols[2].button(
                "Save this face",
                key="live_training_save",
                icon=":material/school:",
                on_click=_save_live_face,
                args=(live, "live_training_face", "live_training_emotion"),
            )
        message = st.session_state.pop(LIVE_MESSAGE_KEY, None)
        if message:
            getattr(st, message[0])(message[1])
