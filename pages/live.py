"""Live page: the webcam stream, analysed frame by frame on the server."""

from __future__ import annotations

import av
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from emotion_core.ice import rtc_configuration
from emotion_core.live import STALL_TIMEOUT_S, LiveSession
from ui.live_controls import live_controls, record_switch, recording_status, snapshot_button
from ui.live_panel import render_live_panel
from ui.resources import (
    LAST_SESSION_KEY,
    config,
    get_classifier,
    get_model_ref,
    get_store,
    selected_model,
)
from ui.routing import route_through_app
from ui.sidebar import settings_sidebar
from ui.signin import NOTE_KEY, signin_expired, viewer
from ui.training_capture import live_face_saver
from ui.webrtc_relay import use_newest_frame_relay

route_through_app()  # a direct link on a fresh server: see ui/routing.py
st.title("Live emotion analysis")
settings = settings_sidebar()
try:
    classifier = get_classifier()
    model = get_model_ref(str(selected_model()))
except Exception as exc:  # a missing or broken model file: say so, keep the app up
    st.error(f"The emotion model could not be loaded: {exc}")
    st.stop()

owner = viewer().owner  # the sessions recorded here are this user's (None: no sign-in)
if "live_session" not in st.session_state:
    # A stream that stops sending frames (a closed tab) is ended after STALL_TIMEOUT_S.
    st.session_state.live_session = LiveSession(
        classifier, get_store(), model, owner, stall_timeout_s=STALL_TIMEOUT_S
    )
live: LiveSession = st.session_state.live_session
live.update_settings(settings)
live.update_model(classifier, model)  # from the next START on
record_on = record_switch(live)


def video_frame_callback(frame: av.VideoFrame) -> av.VideoFrame:
    """Runs on the WebRTC worker thread: no st.* calls here."""
    out = live.process(frame.to_ndarray(format="bgr24"), frame.time)
    return av.VideoFrame.from_ndarray(out, format="bgr24")


# No STUN/TURN server unless configured: host candidates work on localhost and a LAN.
try:
    rtc_config = rtc_configuration(
        config("EMOTION_ICE_SERVERS"), config("EMOTION_ICE_TRANSPORT_POLICY")
    )
except ValueError as exc:  # a deployment typo: say so, keep streaming on the LAN
    st.error(f"{exc}. Streaming without STUN/TURN servers (localhost and LAN only).")
    rtc_config = {"iceServers": []}
use_newest_frame_relay()  # a slow encoder drops old frames instead of queueing them
ctx = webrtc_streamer(
    key="live",
    mode=WebRtcMode.SENDRECV,
    video_frame_callback=video_frame_callback,
    on_video_ended=live.stop,
    rtc_configuration=rtc_config,
    media_stream_constraints={"video": {"width": 640, "height": 480}, "audio": False},
    async_processing=True,
    translations={
        "device_access_denied": "Camera access was denied or no camera was "
        "found. Allow the camera in the browser's address bar and press START."
    },
)
snapshot_button(live, ctx.state.playing)
st.caption(
    "Press START and allow the camera. Frames are analysed on this server and never "
    "stored; while recording, only the numbers are kept for Session analytics. A face "
    "is kept for training only when you click *Save this face* (its 48x48 grey crop)."
)


def stop_for_expired_signin() -> None:
    """The user's sign-in expired while streaming: close the stream's session with every
    row kept, and rerun the whole page, which then shows only the sign-in screen (so
    the stream component goes and the browser ends the stream)."""
    snap = live.snapshot()
    live.close()
    kept = (
        f"Session #{snap.session_id} was kept with its {snap.frames_analysed:,} analysed frames."
        if snap.session_id is not None
        else "Nothing had been recorded."
    )
    st.session_state[NOTE_KEY] = (
        f"Your sign-in has expired, so the camera stream was stopped. {kept} "
        "Sign in again to go on."
    )
    st.rerun(scope="app")


@st.fragment(run_every=1.0)
def live_panel() -> None:
    if signin_expired():
        stop_for_expired_signin()
    snap = live.snapshot()
    if snap.session_id is not None:
        st.session_state[LAST_SESSION_KEY] = snap.session_id
    recording_status(snap, record_on)
    live_controls(live, snap)
    if snap.streaming:
        live_face_saver(live, snap)
    render_live_panel(snap, live.timeline() if snap.streaming else None)


if ctx.state.playing or live.snapshot().session_id is not None:
    live_panel()
else:
    recording_status(live.snapshot(), record_on)
