"""The Live page's controls: record switch, pause/resume, snapshot and markers.

Buttons act on the :class:`LiveSession` through callbacks, which run before the
fragment redraws, so the panel shows the new state at once. Messages for the user go
through ``st.session_state`` because a callback cannot draw.
"""

from __future__ import annotations

import streamlit as st

from emotion_core.live import LiveError, LiveSession, LiveSnapshot
from emotion_core.store import MARKER_NOTE_MAX

RECORD_KEY = "live_record"
NOTE_KEY = "live_marker_note"
MESSAGE_KEY = "live_message"  # (kind, text) from the last callback


def record_switch(live: LiveSession) -> bool:
    """The privacy switch, usable before and during a stream."""
    on = st.toggle(
        "Record this session",
        value=True,
        key=RECORD_KEY,
        help="Off: faces are analysed and shown live, but nothing is stored (no session, "
        "no numbers). Can be switched during a stream.",
    )
    live.set_recording(on)
    return on


def recording_status(snap: LiveSnapshot, record_on: bool) -> None:
    """One line that always says whether anything is being recorded."""
    if not snap.streaming:
        st.caption(
            "The next stream **will be recorded** as numbers (never pictures)."
            if record_on
            else "The next stream **will not be recorded**: nothing will be stored."
        )
    elif snap.paused:
        st.warning("Paused: the video keeps flowing; nothing is analysed or recorded.")
    elif snap.recording:
        st.success(
            f"Recording to session #{snap.session_id}: numbers only, never pictures.",
            icon=":material/radio_button_checked:",
        )
    else:
        st.info("Not recording: faces are analysed live, nothing is stored.")


def _pause(live: LiveSession) -> None:
    if not live.pause():
        st.session_state[MESSAGE_KEY] = ("info", "Nothing to pause: the stream is stopped.")


def _mark(live: LiveSession) -> None:
    note = st.session_state.get(NOTE_KEY, "")
    try:
        t_rel = live.mark(note)
    except (LiveError, ValueError) as exc:
        st.session_state[MESSAGE_KEY] = ("error", str(exc))
        return
    st.session_state[NOTE_KEY] = ""
    # The note is not echoed: st.success renders Markdown, and notes are plain text.
    with_note = " with its note" if note.strip() else ""
    st.session_state[MESSAGE_KEY] = ("success", f"Marked at {t_rel:.1f} s{with_note}.")


def _snapshot_png(live: LiveSession) -> bytes:
    """The frame on screen at the moment of the click (called by Streamlit then)."""
    png = live.snapshot_png()
    if png is None:
        raise LiveError("The stream is stopped: there is nothing to take.")
    return png


def snapshot_button(live: LiveSession, streaming: bool) -> None:
    """Snapshot: one click downloads the current annotated frame as a PNG.

    The PNG is encoded only on the click (Streamlit calls ``data`` then, on its own
    thread), handed to this browser and kept nowhere on the server: Streamlit drops
    the generated file after the next script runs. The button sits outside the
    1-second Live fragment so its click handler stays registered between refreshes."""
    if not streaming:
        st.caption("Snapshot: the stream is stopped, there is nothing to take.")
        return
    session = live.snapshot().session_id
    st.download_button(
        "Snapshot",
        lambda: _snapshot_png(live),
        f"emotion-snapshot-session-{session}.png" if session else "emotion-snapshot.png",
        # Served as image/png, headless Chromium cancelled the download (the same
        # bytes as octet-stream arrive); the .png name tells the OS what it is.
        "application/octet-stream",
        key="live_snapshot",
        on_click="ignore",  # no rerun: the stream and the panel carry on undisturbed
        icon=":material/photo_camera:",
        help="Downloads the current annotated frame as a PNG. Nothing is kept on the server.",
    )


def live_controls(live: LiveSession, snap: LiveSnapshot) -> None:
    """Pause/Resume, and Mark moment with an optional note (while streaming)."""
    if not snap.streaming:
        st.caption("The stream is stopped: there is nothing to pause or mark.")
        return
    cols = st.columns([1, 4, 1], vertical_alignment="bottom")
    if snap.paused:
        cols[0].button("Resume", key="live_resume", icon=":material/play_arrow:",
                       on_click=live.resume)  # fmt: skip
    else:
        cols[0].button("Pause", key="live_pause", icon=":material/pause:", on_click=_pause,
                       args=(live,))  # fmt: skip
    cols[1].text_input(
        "Note for the marker (optional)",
        key=NOTE_KEY,
        max_chars=MARKER_NOTE_MAX,
        placeholder="e.g. question 3, ad starts",
    )
    cols[2].button(
        "Mark moment",
        key="live_mark",
        icon=":material/bookmark_add:",
        on_click=_mark,
        args=(live,),
        disabled=not snap.recording,
        help="Stores the moment (and the note) with the session."
        if snap.recording
        else "Recording is off: there is no session to mark.",
    )
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        getattr(st, message[0])(message[1])
