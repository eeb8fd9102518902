"""Analyze media page: uploaded photos and video files, composed from emotion_core.media
and emotion_core.video. Pictures are analysed in memory and never stored."""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import pandas as pd
import streamlit as st

from emotion_core.media import (
    IMAGE_EXTENSIONS,
    MediaError,
    PhotoAnalyser,
    PhotoResult,
    report_csv,
    report_rows,
    save_photo_session,
)
from emotion_core.settings import AnalysisSettings
from emotion_core.store import RAW_COLUMNS
from emotion_core.video import (
    MAX_DURATION_S,
    VIDEO_EXTENSIONS,
    FrameSampler,
    analyse_video,
    read_frame_at,
)
from ui.resources import LAST_SESSION_KEY, get_classifier, get_model_ref, get_store, selected_model
from ui.routing import route_through_app
from ui.sidebar import settings_sidebar
from ui.signin import viewer
from ui.training_capture import face_saver, privacy_notice

JOB_KEY = "media_video_job"  # set while a video runs: survives the rerun that cancels it
RESULT_KEY = "media_video_result"
RATES = {"Every frame": None, "10 per second": 10.0, "5 per second": 5.0, "1 per second": 1.0}

route_through_app()  # a direct link on a fresh server: see ui/routing.py
st.title("Analyze photos and videos")
owner = viewer().owner  # saved sessions are this user's (None: no sign-in)
# server.maxUploadSize in .streamlit/config.toml (why that value: README, design.md)
UPLOAD_MB = int(st.get_option("server.maxUploadSize"))
st.caption(
    f"Files up to **{UPLOAD_MB} MB** each (this server's upload limit); larger ones are "
    "refused before they are sent. Pictures are analysed in memory and never stored."
)
settings = settings_sidebar(video=False)
try:
    model_file = str(selected_model())
    get_classifier(model_file)
    model = get_model_ref(model_file)
except Exception as exc:  # a missing or broken model file: say so, keep the app up
    st.error(f"The emotion model could not be loaded: {exc}")
    st.stop()


@st.cache_data(max_entries=64, show_spinner=False)
def analyse_photo(
    name: str, data: bytes, settings: AnalysisSettings, model_file: str
) -> PhotoResult | str:
    """Cached (per model file too) so that reruns do not analyse the batch again."""
    try:
        with PhotoAnalyser(get_classifier(model_file), settings) as analyser:
            return analyser.analyse_file(name, data)
    except MediaError as exc:
        return str(exc)


@st.cache_data(max_entries=16, show_spinner="Reading the frame…")
def analyse_video_frame(
    name: str, data: bytes, seconds: float, settings: AnalysisSettings, model_file: str
) -> PhotoResult | str:
    """One frame of an uploaded video, analysed like a photo (to pick a face from)."""
    workdir = Path(tempfile.mkdtemp(prefix="emotion_frame_"))
    path = workdir / Path(name).name
    try:
        path.write_bytes(data)
        frame = read_frame_at(path, seconds)
        with PhotoAnalyser(get_classifier(model_file), settings) as analyser:
            return analyser.analyse(f"{name} at {seconds:.1f} s", frame)
    except MediaError as exc:
        return str(exc)
    finally:
        path.unlink(missing_ok=True)
        workdir.rmdir()


def video_face_saver(upload) -> None:
    """Pick a moment of the uploaded video, then one of its faces to save for training."""
    with st.expander("Save a face from this video for training", icon=":material/school:"):
        st.caption(privacy_notice())
        seconds = st.number_input(
            "At second", 0.0, float(MAX_DURATION_S), 0.0, 0.5, key="video_train_t"
        )
        photo = analyse_video_frame(upload.name, upload.getvalue(), seconds, settings, model_file)
        if isinstance(photo, str):
            st.error(f"{upload.name}: {photo}")
            return
        st.image(photo.annotated_bgr[:, :, ::-1], caption=photo.name, width=360)
        face_saver(photo.result.faces, key=f"video_train_{upload.name}")


def show_saved(session_id: int, what: str) -> None:
    st.session_state[LAST_SESSION_KEY] = session_id
    st.success(f"{what} saved as session #{session_id}.")
    st.page_link("pages/analytics.py", label="Open it in Session analytics", icon="📈")


def show_photo(photo: PhotoResult, index: int) -> None:
    left, right = st.columns([3, 2])
    left.image(photo.annotated_bgr[:, :, ::-1], caption=photo.name)  # BGR -> RGB
    if photo.note:
        right.info(photo.note)
    rows = report_rows(photo.name, photo.result, 0.0)
    if photo.result.faces:
        # raw_* equal p_* for a photo (no smoothing): show one set.
        table = pd.DataFrame(rows).drop(columns=["file", "frame_index", "t_rel", *RAW_COLUMNS])
        right.dataframe(table, hide_index=True)
    png = cv2.imencode(".png", photo.annotated_bgr)[1].tobytes()
    right.download_button(
        "Annotated PNG",
        png,
        f"{Path(photo.name).stem}_annotated.png",
        "image/png",
        key=f"png_{index}_{photo.name}",
        on_click="ignore",
    )
    if photo.result.faces:
        with st.expander("Save a face for training", icon=":material/school:"):
            face_saver(photo.result.faces, key=f"train_{index}_{photo.name}")


def photos_tab() -> None:
    files = st.file_uploader(
        "Photos", [e[1:] for e in IMAGE_EXTENSIONS], accept_multiple_files=True, key="photos"
    )
    photos = []
    for i, f in enumerate(files or []):
        result = analyse_photo(f.name, f.getvalue(), settings, model_file)
        if isinstance(result, str):
            st.error(f"{f.name}: {result}")
            continue
        show_photo(result, i)
        photos.append(result)
    if not photos:
        st.caption("Upload JPEG, PNG, WebP, BMP, TIFF or GIF photos; nothing is stored.")
        return
    st.caption(privacy_notice())
    rows = [r for p in photos for r in report_rows(p.name, p.result, 0.0)]
    left, right = st.columns(2)
    left.download_button("Faces as CSV", report_csv(rows), "faces.csv", on_click="ignore")
    if right.button("Save as session", type="primary"):
        batch = [(p.name, p.result) for p in photos]
        sid = save_photo_session(get_store(), batch, settings, model, owner)
        show_saved(sid, f"{len(photos)} photo(s)")


def run_video(upload, per_second: float | None, annotate: bool) -> None:
    """Analyse in this script run; clicking Cancel (any widget) reruns and interrupts it,
    and analyse_video then keeps the frames so far as an "incomplete" session."""
    bar = st.progress(0.0, "Starting…")
    st.button("Cancel", key="cancel_video")
    st.session_state[JOB_KEY] = {"name": upload.name, "session_id": None}

    def progress(p) -> None:
        st.session_state[JOB_KEY]["session_id"] = p.session_id
        bar.progress(p.fraction or 0.0, p.describe())

    workdir = Path(tempfile.mkdtemp(prefix="emotion_video_"))
    path = workdir / Path(upload.name).name
    path.write_bytes(upload.getvalue())
    out = workdir / "annotated.mp4" if annotate else None
    try:
        result = analyse_video(
            path,
            get_classifier(model_file),
            settings,
            store=get_store(),
            sampler=FrameSampler(per_second=per_second),
            on_progress=progress,
            annotated_path=out,
            model=model,
            owner=owner,
        )
        video = out.read_bytes() if out else None
        st.session_state[RESULT_KEY] = (result, upload.name, video)
    except MediaError as exc:
        st.error(f"{upload.name}: {exc}")
    finally:  # an interrupted run leaves JOB_KEY set for the next run to report
        for p in workdir.iterdir():
            p.unlink()
        workdir.rmdir()
    st.session_state.pop(JOB_KEY, None)


def video_tab() -> None:
    job = st.session_state.pop(JOB_KEY, None)
    if job:  # the previous run was interrupted by Cancel (or another widget)
        kept = f"session #{job['session_id']} (incomplete)" if job["session_id"] else "nothing"
        st.warning(f"Analysis of {job['name']} was cancelled; kept {kept}.")
    upload = st.file_uploader("Video", [e[1:] for e in VIDEO_EXTENSIONS], key="video")
    st.caption(f"MP4, WebM, MOV, AVI or MKV up to {MAX_DURATION_S // 60} minutes.")
    rate = st.radio("Analyse", list(RATES), index=2, horizontal=True, key="video_rate")
    annotate = st.checkbox("Also make an annotated copy of the video", key="video_annotate")
    if upload is not None:
        video_face_saver(upload)
    if upload is not None and st.button("Analyse video", type="primary"):
        st.session_state.pop(RESULT_KEY, None)
        run_video(upload, RATES[rate], annotate)
    if RESULT_KEY in st.session_state:
        result, name, video = st.session_state[RESULT_KEY]
        if result.error:
            st.warning(f"{name}: {result.error}")
        if result.session_id is not None:
            show_saved(result.session_id, f"{name}: {result.frames_analysed} frames")
        if video:
            st.video(video)
            file_name = f"{Path(name).stem}_annotated.mp4"
            st.download_button("Annotated video", video, file_name, "video/mp4", on_click="ignore")


photos, videos = st.tabs(["Photos", "Video"])
with photos:
    photos_tab()
with videos:
    video_tab()
