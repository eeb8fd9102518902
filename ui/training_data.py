"""The "Training data" view: counts per emotion, the saved crops, deleting any or all,
and the training folder's unusable files listed one by one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from emotion_core.emotions import LABELS
from emotion_core.training_faces import (
    MIN_FACES_PER_EMOTION,
    FolderProblem,
    check_folder,
    count_faces,
    delete_all,
    delete_face,
    list_faces,
)

GALLERY_COLUMNS = 8
GALLERY_MAX = 64  # newest crops shown per emotion; the counts cover all of them
MESSAGE_KEY = "training_data_message"


def _delete_one(folder: Path, path: Path) -> None:
    try:
        delete_face(folder, path)
    except ValueError as exc:
        st.session_state[MESSAGE_KEY] = ("error", str(exc))
        return
    st.session_state[MESSAGE_KEY] = ("success", f"Deleted {path.parent.name}/{path.name}.")


def _delete_all(folder: Path) -> None:
    removed = delete_all(folder)
    st.session_state["training_confirm_delete_all"] = False
    st.session_state[MESSAGE_KEY] = ("success", f"Deleted all {removed} saved faces.")


def counts_table(counts: dict[str, int]) -> pd.DataFrame:
    """One row per emotion: faces saved and whether a fine-tune can use them."""

    def state(n: int) -> str:
        if n == 0:
            return "not taught"
        if n < MIN_FACES_PER_EMOTION:
            return f"needs {MIN_FACES_PER_EMOTION - n} more"
        return "ready"

    return pd.DataFrame(
        {
            "emotion": list(counts),
            "faces": list(counts.values()),
            "fine-tune": [state(n) for n in counts.values()],
        }
    )


def show_problems(folder: Path, problems: list[FolderProblem]) -> None:
    """Every unusable file, one line each, with a delete button for unreadable images."""
    st.error(
        f"{len(problems)} entr{'y' if len(problems) == 1 else 'ies'} in the training folder "
        "cannot be used; a fine-tune will not start until they are fixed or deleted:"
    )
    for i, problem in enumerate(problems):
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.markdown(f"`{problem.path}`: {problem.reason}")
        if problem.path.is_file() and problem.path.parent.name in LABELS:
            right.button(
                "Delete", key=f"problem_{i}", on_click=_delete_one, args=(folder, problem.path)
            )


def training_data_view(folder: Path) -> dict[str, int]:
    """Draw the view; returns the counts per emotion."""
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        getattr(st, message[0])(message[1])
    counts = count_faces(folder)
    total = sum(counts.values())
    st.markdown(f"**{total}** saved face(s) in `{folder}`")
    st.dataframe(counts_table(counts), hide_index=True)
    problems = check_folder(folder)
    if problems:
        show_problems(folder, problems)
    if not total:
        st.info(
            "No faces saved yet. On **Analyze media** (photos, video frames) or **Live**, "
            "pick a face and its true emotion and click *Save for training*."
        )
        return counts
    used = [e for e in LABELS if counts[e]]
    emotion = st.segmented_control("Show", used, default=used[0], key="training_show")
    faces = list_faces(folder, emotion or used[0])
    if len(faces) > GALLERY_MAX:
        st.caption(f"The newest {GALLERY_MAX} of {len(faces)} shown.")
    cols = st.columns(GALLERY_COLUMNS)
    for i, face in enumerate(faces[:GALLERY_MAX]):
        col = cols[i % GALLERY_COLUMNS]
        try:
            col.image(face.load(), width=72)
        except ValueError:
            col.caption("unreadable")
        col.button(
            "Delete", key=f"del_{face.path.name}", on_click=_delete_one, args=(folder, face.path)
        )
    confirm = st.checkbox("I want to delete every saved face", key="training_confirm_delete_all")
    st.button(
        "Delete all saved faces",
        disabled=not confirm,
        type="primary",
        on_click=_delete_all,
        args=(folder,),
        key="training_delete_all",
    )
    return counts
